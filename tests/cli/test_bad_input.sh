#!/usr/bin/env bash
# The command against bad input, as a table: every case must end with exactly one line on stderr that
# matches its pattern (the flag, key or file and what is wrong), an exit status in 1..127 (not a signal,
# not 0), no C++ exception name, and no change to the run directory it was pointed at.
#   test_bad_input.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" bad "$@"
cases=0
# be32 N: N as 4 big-endian bytes.
be32() { printf "\\x$(printf %02x $((($1 >> 24) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $(($1 & 255)))"; }
# idx3 N ROWS COLS BYTES: an IDX image file's header for N × ROWS × COLS, then BYTES zero bytes.
idx3() { printf '\x00\x00\x08\x03'; be32 "$1"; be32 "$2"; be32 "$3"; head -c "$4" /dev/zero; }
# datadir NAME: a copy of the good synthetic data, to damage.
datadir() { rm -rf "$tmp/$1" && cp -r "$tmp/data" "$tmp/$1" && echo "$tmp/$1"; }
# rundir NAME: a copy of the good run, to damage.
rundir() { rm -rf "$tmp/$1" && cp -r "$tmp/run" "$tmp/$1" && echo "$tmp/$1"; }
snapshot() { [ -d "$1" ] && (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 -r sha256sum); }

# bad DIR PATTERN -- command...: DIR (a run directory, or - for none) is unchanged afterwards.
bad() {
  local dir=$1 pattern=$2 before=""
  shift 3
  cases=$((cases + 1))
  [ "$dir" != - ] && before=$(snapshot "$dir")
  timeout 120 "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local what="case $cases ('${*:2}')"
  { [ "$rc" -ge 1 ] && [ "$rc" -le 127 ] && [ "$rc" -ne 124 ]; } || fail "$what exited $rc: $(head -c 300 "$tmp/err")"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$what printed $(wc -l <"$tmp/err") lines on stderr: $(head -c 600 "$tmp/err")"
  grep -q -- "$pattern" "$tmp/err" || fail "$what: stderr lacks '$pattern': $(head -c 300 "$tmp/err")"
  grep -q "std::\|bad_alloc\|length_error\|what()\|basic_string" "$tmp/err" && fail "$what: an exception's name: $(cat "$tmp/err")"
  [ "$dir" != - ] && [ "$(snapshot "$dir")" != "$before" ] && fail "$what changed $dir"
  return 0
}

small=(--latent 2 --hidden 16 --eval-every 300 --seed 3 --progress none)
"$tapir" train vae --data "$tmp/data" "${small[@]}" --samples 600 --out "$tmp/run" >/dev/null 2>"$tmp/err" ||
  { echo "FAIL: the good run: $(cat "$tmp/err")"; exit 1; }
run=$tmp/run
big=4611686018427387904  # 2⁶²
d=$tmp/data

# Flags: sizes that overflow or cannot be allocated, reals outside their domain.
bad - "latent" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --latent $big
bad - "hidden" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --hidden $big
bad - "hidden" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --hidden 16,0
bad - "mc-samples" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --mc-samples $big
bad - "iwae-k" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --objective iwae --iwae-k $big
bad - "batch" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --batch $big
bad - "one step would hold" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --batch 1000000 --hidden 1000
bad - "parameters" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --hidden 60000,60000
bad - "samples" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --samples 1e30
bad - "samples" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --samples 1e16
bad - "init-std" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --init-std 1e30
bad - "weight-decay" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --weight-decay 1e300
bad - "lr" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --lr nan
bad - "lr" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --lr inf
bad - "lr" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --lr -1
bad - "beta" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --beta -0.5
bad - "prior" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --prior vamp:200000
bad - "ais-chains" -- "$tapir" train mcem --data "$d" --out "$tmp/n1" --ais-chains $big
bad - "dataset" -- "$tapir" train vae --data "$d" --out "$tmp/n1" --dataset cifar
bad - "$tmp/nowhere" -- "$tapir" train vae --data "$tmp/nowhere" --out "$tmp/n1" "${small[@]}"
bad "$run" "already holds a run" -- "$tapir" train vae --data "$d" --out "$run" "${small[@]}"
bad "$run" "would not continue it" -- "$tapir" train --resume "$run" --samples 100 --progress none
bad - "not a run directory" -- "$tapir" train --resume "$tmp/nowhere" --progress none
bad - "importance-samples\|-k" -- "$tapir" eval "$run" -k -1
bad "$run" "importance-samples\|-k" -- "$tapir" eval "$run" -k $big
bad "$run" "split" -- "$tapir" eval "$run" --split validation
bad "$run" "checkpoint" -- "$tapir" eval "$run" --checkpoint middle
bad - "not a run directory" -- "$tapir" eval "$tmp/nowhere"
[ -e "$tmp/n1" ] && fail "a refused training left $tmp/n1 behind"

# Data files: headers that overflow, truncation, wrong shapes, not files at all.
x=$(datadir huge) && idx3 16 1073741824 1073741824 0 >"$x/train-images-idx3-ubyte"
bad - "train-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir wrap) && idx3 65536 65536 65536 0 >"$x/t10k-images-idx3-ubyte"
bad - "t10k-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir trunc) && idx3 600 28 28 1000 >"$x/train-images-idx3-ubyte"
bad - "train-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir magic) && printf 'GIF89a-not-an-idx-file' >"$x/train-images-idx3-ubyte"
bad - "train-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir empty) && : >"$x/train-images-idx3-ubyte"
bad - "train-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir shape) && idx3 200 28 27 $((200 * 28 * 27)) >"$x/t10k-images-idx3-ubyte"
bad - "t10k-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir gz) && rm "$x/train-images-idx3-ubyte" && head -c 3000 /dev/urandom >"$x/train-images-idx3-ubyte.gz"
bad - "train-images-idx3-ubyte.gz" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir gztrunc) && rm "$x/train-images-idx3-ubyte" && gzip -c "$d/train-images-idx3-ubyte" | head -c 2000 >"$x/train-images-idx3-ubyte.gz"
bad - "train-images-idx3-ubyte.gz" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir isdir) && rm "$x/train-images-idx3-ubyte" && mkdir "$x/train-images-idx3-ubyte"
bad - "train-images-idx3-ubyte" -- "$tapir" train vae --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
# A MAT-file whose matrix header claims 65,536 × 32,768 doubles in a file of a few hundred bytes.
x=$(datadir mat) && {
  printf 'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2026'
  head -c $((116 - 76)) /dev/zero | tr '\0' ' '
  head -c 8 /dev/zero
  printf '\x00\x01IM'
  printf '\x0e\x00\x00\x00\x00\x01\x00\x00'                                  # miMATRIX, 256 bytes
  printf '\x06\x00\x00\x00\x08\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00' # flags: double
  printf '\x05\x00\x00\x00\x08\x00\x00\x00\x00\x00\x01\x00\x00\x80\x00\x00' # dims 65536 × 32768
  printf '\x01\x00\x00\x00\x02\x00\x00\x00ff\x00\x00\x00\x00\x00\x00'       # name "ff"
  printf '\x09\x00\x00\x00\xf0\x00\x00\x00'                                  # miDOUBLE, 240 bytes
  head -c 240 /dev/zero
} >"$x/frey_rawface.mat"
bad - "frey_rawface.mat" -- "$tapir" train vae --dataset frey --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
x=$(datadir matjunk) && head -c 4096 /dev/urandom >"$x/frey_rawface.mat"
bad - "frey_rawface.mat" -- "$tapir" train vae --dataset frey --data "$x" --out "$tmp/n2-$cases" "${small[@]}"
bad - "$d/train-images-idx3-ubyte" -- "$tapir" train vae --data "$d/train-images-idx3-ubyte" --out "$tmp/n2-$cases" "${small[@]}"
ls -d "$tmp"/n2-* >/dev/null 2>&1 && fail "a run refused for its data left a directory behind: $(ls -d "$tmp"/n2-*)"

# config.json: edited by hand into values the flags would refuse.
edit() {  # edit DIR SED-EXPRESSION: a copy of the good run with config.json edited
  local r
  r=$(rundir "$1") && sed -i "$2" "$r/config.json" && echo "$r"
}
x=$(edit c1 's/"samples": 1,/"samples": 9223372036854775808,/') && bad "$x" "config.json" -- "$tapir" eval "$x" -k 5
x=$(edit c2 's/"samples": 1,/"samples": -1e308,/') && bad "$x" "samples" -- "$tapir" eval "$x" -k 5
x=$(edit c3 's/"z_dim": 2$/"z_dim": 4611686018427387904/') && bad "$x" "z_dim" -- "$tapir" eval "$x"
x=$(edit c4 's/"batch": 100,/"batch": -1,/') && bad "$x" "batch" -- "$tapir" train --resume "$x" --progress none
x=$(edit c5 's/"lr": [0-9.e-]*,/"lr": "fast",/') && bad "$x" "lr" -- "$tapir" train --resume "$x" --progress none
x=$(edit c6 's/"init_std": [0-9.e-]*,/"init_std": 1e300,/') && bad "$x" "init_std" -- "$tapir" eval "$x"
x=$(edit c7 's/"hidden": \[/"hidden": [0, /') && bad "$x" "hidden" -- "$tapir" sample "$x" -o "$tmp/s.png"
x=$(rundir c8) && printf '{"model": "vae", "vae": ' >"$x/config.json" && bad "$x" "config.json" -- "$tapir" eval "$x"
x=$(rundir c9) && : >"$x/config.json" && bad "$x" "config.json" -- "$tapir" train --resume "$x" --progress none
x=$(edit c10 's/"beta": 1.0,/"beta": 1.0, "gamma": 2,/') && bad "$x" "gamma" -- "$tapir" eval "$x"
x=$(rundir c11) && rm "$x/config.json" && mkdir "$x/config.json" && bad "$x" "config.json.*directory" -- "$tapir" eval "$x"

# Checkpoints: not a file, truncated, damaged header, flipped bits.
x=$(rundir k1) && rm "$x/checkpoint_last.safetensors" && mkdir "$x/checkpoint_last.safetensors"
bad "$x" "checkpoint_last.safetensors" -- "$tapir" eval "$x" --checkpoint last
bad "$x" "checkpoint_last.safetensors" -- "$tapir" train --resume "$x" --samples 900 --progress none
x=$(rundir k2) && : >"$x/checkpoint_best.safetensors"
bad "$x" "checkpoint_best.safetensors" -- "$tapir" eval "$x" --checkpoint best
x=$(rundir k3) && printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$x/checkpoint_best.safetensors" conv=notrunc 2>/dev/null
bad "$x" "checkpoint_best.safetensors" -- "$tapir" eval "$x" --checkpoint best
x=$(rundir k4) && head -c 2000 "$run/checkpoint_last.safetensors" >"$x/checkpoint_last.safetensors"
bad "$x" "checkpoint_last.safetensors" -- "$tapir" train --resume "$x" --samples 900 --progress none
# One flipped bit in the tensors (past the header) and one in the header's JSON.
x=$(rundir k5) && size=$(stat -c %s "$x/checkpoint_last.safetensors") &&
  printf '\x55' | dd of="$x/checkpoint_last.safetensors" bs=1 seek=$((size - 7)) conv=notrunc 2>/dev/null
bad "$x" "checkpoint_last.safetensors" -- "$tapir" train --resume "$x" --samples 900 --progress none
x=$(rundir k6) && sed -i 's/"step":"600"/"step":"601"/' "$x/checkpoint_last.safetensors"
bad "$x" "checkpoint_last.safetensors" -- "$tapir" train --resume "$x" --samples 900 --progress none
x=$(rundir k7) && sed -i 's/"step":"600"/"step":"-600"/' "$x/checkpoint_last.safetensors"
bad "$x" "checkpoint_last.safetensors" -- "$tapir" train --resume "$x" --samples 900 --progress none

# One writer per run: a run whose lock another process holds is refused, whatever the command.
x=$(rundir l1) && mkdir "$tmp/l2" && { flock "$x/.lock" flock "$tmp/l2/.lock" sleep 3 >/dev/null 2>&1 & } && holder=$! && sleep 0.3
bad "$x" "in use by" -- "$tapir" train --resume "$x" --samples 900 --progress none
bad "$tmp/l2" "in use by" -- "$tapir" train vae --data "$d" --out "$tmp/l2" "${small[@]}"
wait "$holder"
# A resume pointed at a data set of another size.
x=$(rundir r1) && y=$(datadir fewer) && idx3 300 28 28 $((300 * 784)) >"$y/train-images-idx3-ubyte"
bad "$x" "data" -- "$tapir" train --resume "$x" --samples 900 --data "$y" --progress none

# MCEM's chains (a companion file of the checkpoint): a step size that is not a number.
"$tapir" train mcem --data "$d" --latent 2 --hidden 16 --eval-every 300 --samples 600 --out "$tmp/mcem" \
  --ais-points 10 --ais-steps 5 --ais-chains 2 --progress none >/dev/null 2>"$tmp/err" || fail "train mcem: $(cat "$tmp/err")"
sed -i 's/"step_size":"[0-9]/"step_size":"x/' "$tmp/mcem/mcem_chains.safetensors"
bad "$tmp/mcem" "mcem_chains.safetensors.*step_size" -- "$tapir" train --resume "$tmp/mcem" --samples 900 --progress none

# From the outside campaign: outputs that are not pictures, a run spilled into a full directory, a
# checkpoint from another run, a run that lost its checkpoint_last, stdout on a full disk.
bad "$run" "not a PNG file name" -- "$tapir" sample "$run" -o "$run/config.json"
bad - "not a PNG file name" -- "$tapir" reconstruct "$run" -o /dev/full
mkfifo "$tmp/fifo.png" && bad "$run" "fifo.png.*not a regular file" -- "$tapir" sample "$run" -o "$tmp/fifo.png"
mkdir "$tmp/papers" && echo precious >"$tmp/papers/curve.csv"
bad "$tmp/papers" "holds other files" -- "$tapir" train vae --data "$d" --out "$tmp/papers" "${small[@]}"
"$tapir" train vae --data "$d" --latent 2 --hidden 16 --eval-every 300 --seed 3 --progress none --samples 600 \
  --activation relu --out "$tmp/relu" >/dev/null 2>&1 || fail "the relu run"
x=$(rundir o1) && cp "$tmp/relu/checkpoint_last.safetensors" "$x/"
bad "$x" "vae.activation" -- "$tapir" train --resume "$x" --samples 900 --progress none
bad "$x" "vae.activation" -- "$tapir" eval "$x" -k 5
x=$(edit o2 's/"lr": [0-9.e-]*,/"lr": 0.5,/') && bad "$x" "train.lr" -- "$tapir" train --resume "$x" --samples 900 --progress none
x=$(rundir o3) && rm "$x/checkpoint_last.safetensors"
bad "$x" "damaged" -- "$tapir" train --resume "$x" --samples 900 --progress none
if [ -w /dev/full ]; then bad "$run" "standard output" -- sh -c "\"$tapir\" eval \"$run\" -k 5 >/dev/full"; fi
bad - "too large" -- "$tapir" train vae --data "$d" --out "$tmp/n3" --samples 9223372036854775808
bad - "seed" -- "$tapir" train vae --data "$d" --out "$tmp/n3" --seed -1
# typos: the flag or command meant, named
bad - "no flag --latnet: did you mean --latent?" -- "$tapir" train vae --data "$d" --out "$tmp/n3" --latnet 2
bad - "did you mean --seed or --seeds?" -- "$tapir" reproduce fig2 --data "$d" --out "$tmp/n3" --seedz 2
bad - "did you mean .tapir train vae.?" -- "$tapir" train vea --data "$d" --out "$tmp/n3"
# a bad value keeps its own message, even when it looks like a command's name ('abc' is one edit from 'avb')
bad - "--samples: 'abc' is not a positive whole number" -- "$tapir" train --resume "$tmp/n3" --samples abc
x=$(edit o4 's/"model": "vae"/"model": null/') && bad "$x" "a run of model null" -- "$tapir" eval "$x"
# what a program of one's own writes through models::Trainer: no "vae" section, so the command says where to go
x=$(edit o5 's/"vae": {/"net": {/') && bad "$x" "nn::load_checkpoint" -- "$tapir" eval "$x"

# The curve and the pictures' outputs.
x=$(rundir v1) && printf 'samples,epoch\n12,abc\n' >"$x/curve.csv"
bad "$x" "curve.csv" -- "$tapir" plot "$x" -o "$tmp/p.png"
x=$(rundir v2) && rm "$x/curve.csv" && mkdir "$x/curve.csv" && bad "$x" "curve.csv.*directory" -- "$tapir" plot "$x" -o "$tmp/p.png"
bad - "$tmp/nowhere" -- "$tapir" plot "$tmp/nowhere" -o "$tmp/p.png"
bad "$run" "$tmp/no/such/dir" -- "$tapir" sample "$run" -o "$tmp/no/such/dir/s.png"
bad "$run" "grid" -- "$tapir" manifold "$run" --grid 100000 -o "$tmp/m.png"
bad - "latents" -- "$tapir" reproduce fig2 --dataset mnist --data "$d" --latents 0 --out "$tmp/f2" --progress none

echo "bad input: $cases cases, $failures failures"
[ "$cases" -ge 40 ] || fail "fewer than 40 cases"
exit $((failures > 0))
