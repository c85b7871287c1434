#!/usr/bin/env bash
# Runs whose bound stops being finite, and huge budgets: the run stops with one line naming the bound,
# the samples and the setting to change; its last checkpoint still evaluates, plots and resumes; eval
# never prints a non-finite result as a number with exit 0; --samples 1e13 trains at once in little memory.
#   test_diverged.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" diverged "$@"
small=(--data "$tmp/data" --latent 2 --hidden 16 --progress none)

# The cause named from the configuration; nothing left behind when there was no checkpoint yet.
expect_error 1 "lower --init-std (now 10;" -- "$tapir" train vae "${small[@]}" --init-std 10 --out "$tmp/init"
[ -e "$tmp/init" ] && fail "a run that diverged before its first checkpoint left its directory"
# Beyond the documented limits (docs/reliability.md), refused before anything runs.
expect_error 1 "init-std (init_std) = 1e+30: expected a number in \[0, 10\]" -- \
  "$tapir" train vae "${small[@]}" --init-std 1e30 --out "$tmp/init"
expect_error 1 "weight-decay (weight_decay) = 1e+300" -- "$tapir" train vae "${small[@]}" --weight-decay 1e300 --out "$tmp/wd"

# A Gaussian decoder diverging after its first checkpoints: the run keeps them.
gauss=(vae --dataset frey "${small[@]}" --optimizer adam --lr 3 --samples 20000 --eval-every 2000)
# (The numbers depend on the BLAS thread count: the samples are not pinned.)
expect_error 1 "training bound became [-a-z]* on the minibatch at [0-9]* samples.*lower --lr (now 3).*from [0-9]* samples" -- \
  "$tapir" train "${gauss[@]}" --out "$tmp/g"
cp "$tmp/err" "$tmp/diverged"
"$tapir" eval "$tmp/g" -k 5 --limit 20 >"$tmp/eval.json" 2>"$tmp/err" || fail "eval of a diverged run: $(cat "$tmp/err")"
grep -q '"elbo":-[0-9]' "$tmp/eval.json" || fail "eval of a diverged run: $(cat "$tmp/eval.json")"
"$tapir" plot "$tmp/g" -o "$tmp/g.png" 2>"$tmp/err" || fail "plot of a diverged run: $(cat "$tmp/err")"
expect_error 1 "training bound became" -- "$tapir" train --resume "$tmp/g" --progress none
cmp -s "$tmp/err" "$tmp/diverged" || fail "a resume diverged otherwise: $(cat "$tmp/err") vs $(cat "$tmp/diverged")"

# A subnormal step size (1e-310) is written to curve.csv and read back: resume and plot work.
"$tapir" train vae "${small[@]}" --lr 1e-310 --samples 600 --eval-every 300 --out "$tmp/sub" >/dev/null 2>"$tmp/err" ||
  fail "train --lr 1e-310: $(cat "$tmp/err")"
"$tapir" train --resume "$tmp/sub" --samples 900 --progress none >/dev/null 2>"$tmp/err" ||
  fail "resume of a run with lr 1e-310: $(cat "$tmp/err")"
"$tapir" plot "$tmp/sub" -o "$tmp/sub.png" 2>"$tmp/err" || fail "plot of a run with lr 1e-310: $(cat "$tmp/err")"

# curve.csv holds -inf and nan readably (an evaluation that was not finite): resume and plot read it.
"$tapir" train vae "${small[@]}" --samples 1000 --eval-every 500 --out "$tmp/c" >/dev/null 2>&1 || fail "train c"
echo "1500,3,0.2,-inf,nan,1,0.02" >>"$tmp/c/curve.csv"
"$tapir" plot "$tmp/c" -o "$tmp/c.png" 2>"$tmp/err" || fail "plot with -inf in the curve: $(cat "$tmp/err")"
"$tapir" train --resume "$tmp/c" --samples 1500 --progress none >/dev/null 2>"$tmp/err" ||
  fail "resume with -inf in the curve: $(cat "$tmp/err")"
tail -1 "$tmp/c/curve.csv" | grep -q '^1500,3,[0-9.]*,-[0-9]' || fail "resume did not redo the row: $(tail -1 "$tmp/c/curve.csv")"

# A checkpoint whose parameters are NaN (as earlier tapir versions saved diverged runs): eval fails.
if command -v python3 >/dev/null; then
  python3 - "$tmp/c/checkpoint_last.safetensors" <<'PY' || fail "cannot poison the checkpoint"
import json, struct, sys, zlib
path = sys.argv[1]
raw = bytearray(open(path, "rb").read())
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
name = next(k for k in header if k != "__metadata__" and not k.startswith("optim."))
begin, end = header[name]["data_offsets"]
data[begin:end] = struct.pack("<f", float("nan")) * ((end - begin) // 4)
header["__metadata__"]["data_crc32"] = "%08x" % zlib.crc32(bytes(data))
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))
PY
  expect_error 1 "elbo = nan is not finite" -- "$tapir" eval "$tmp/c" -k 0
  grep -q '"elbo":"nan"' "$tmp/out" || fail "eval JSON of a NaN model: $(cat "$tmp/out")"
fi

# --samples 1e13 --eval-every 100: training starts at once, in little memory (no schedule up front).
"$tapir" train vae "${small[@]}" --samples 1e13 --eval-every 100 --out "$tmp/huge" >/dev/null 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do [ -e "$tmp/huge/curve.csv" ] && break; sleep 0.05; done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -e "$tmp/huge/curve.csv" ] || fail "--samples 1e13 --eval-every 100: no evaluation within 5 s: $(cat "$tmp/err")"
[ "${rss:-0}" -lt 300000 ] || fail "--samples 1e13 --eval-every 100 holds ${rss} kB"

[ "$failures" -eq 0 ] && echo "diverged: all checks passed"
exit $((failures > 0))
