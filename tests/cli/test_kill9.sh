#!/usr/bin/env bash
# kill -9 at random moments (with an evaluation, so a checkpoint write, after every minibatch), then
# resume, until the run finishes: its curve.csv and checkpoints must equal an unbroken run's bit for bit
# (but the wall-clock seconds), no temporary file may be left, and a second writer of a run in use is
# refused naming the holder.
#   test_kill9.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" kill9 "$@"
flags=(vae --data "$tmp/data" --latent 2 --hidden 16 --batch 50 --eval-every 50 --samples 12000 --seed 5 --progress none)

start=$SECONDS
"$tapir" train "${flags[@]}" --out "$tmp/ref" >/dev/null 2>"$tmp/err" || { fail "unbroken run: $(cat "$tmp/err")"; exit 1; }
unbroken=$((SECONDS - start))

# The broken run: started, killed after a random 0.02–0.6 s, resumed (or started again when it was killed
# before its first config.json), up to 40 times; then resumed to the end.
RANDOM=20261127
kills=0
finished=0
for attempt in $(seq 1 40); do
  if [ -e "$tmp/run/config.json" ]; then
    "$tapir" train --resume "$tmp/run" --progress none >/dev/null 2>"$tmp/err.$attempt" &
  else
    "$tapir" train "${flags[@]}" --out "$tmp/run" >/dev/null 2>"$tmp/err.$attempt" &
  fi
  pid=$!
  sleep "$(printf '0.%03d' $((20 + RANDOM % 580)))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    kills=$((kills + 1))
  else
    wait "$pid" || fail "attempt $attempt failed: $(cat "$tmp/err.$attempt")"
    finished=1
    break
  fi
done
if [ "$finished" -eq 0 ]; then
  "$tapir" train --resume "$tmp/run" --progress none >/dev/null 2>"$tmp/err" || fail "final resume: $(cat "$tmp/err")"
fi
[ "$kills" -ge 3 ] || fail "only $kills kills: the run is too short for this test (unbroken: ${unbroken}s)"

# The curve without its seconds column (wall clock).
[ "$(cut -d, -f1,2,4- "$tmp/ref/curve.csv")" = "$(cut -d, -f1,2,4- "$tmp/run/curve.csv")" ] ||
  fail "curve.csv differs from the unbroken run's: $(diff <(cut -d, -f1,2,4- "$tmp/ref/curve.csv") <(cut -d, -f1,2,4- "$tmp/run/curve.csv") | head -5)"

# A checkpoint: [8-byte header length][JSON header][tensor bytes]. The tensor bytes must be identical; the
# header too, but for the wall-clock seconds and the metadata CRC that covers them.
header_length() { od -An -t u8 -N8 "$1" | tr -d ' '; }
header_of() {
  head -c $((8 + $(header_length "$1"))) "$1" | tail -c +9 |
    sed -e 's/"extra\.seconds":"[^"]*"//' -e 's/"metadata_crc32":"[^"]*"//' -e 's/ *$//'
}
for f in checkpoint_last.safetensors checkpoint_best.safetensors; do
  a=$tmp/ref/$f b=$tmp/run/$f
  [ -s "$b" ] || { fail "the broken run lacks $f"; continue; }
  cmp -s <(tail -c +$((9 + $(header_length "$a"))) "$a") <(tail -c +$((9 + $(header_length "$b"))) "$b") ||
    fail "$f: tensors differ from the unbroken run's"
  [ "$(header_of "$a")" = "$(header_of "$b")" ] || fail "$f: metadata differs from the unbroken run's"
done
cmp -s "$tmp/ref/config.json" "$tmp/run/config.json" || fail "config.json differs from the unbroken run's"
left=$(find "$tmp/run" -name '*.tmp*')
[ -z "$left" ] || fail "temporary files left after the final resume: $left"

# One writer per run: a second --resume of a run being trained is refused, naming the process.
"$tapir" train --resume "$tmp/ref" --samples 400000 --progress none >/dev/null 2>"$tmp/err.bg" &
pid=$!
for _ in $(seq 1 100); do
  [ "$(cat "$tmp/ref/.lock" 2>/dev/null)" = "$pid" ] && break
  sleep 0.05
done
"$tapir" train --resume "$tmp/ref" --samples 12050 --progress none >/dev/null 2>"$tmp/err.second"
rc=$?
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ "$rc" -eq 1 ] || fail "a second writer exited $rc, expected 1: $(cat "$tmp/err.second")"
[ "$(wc -l <"$tmp/err.second")" -eq 1 ] || fail "a second writer printed $(wc -l <"$tmp/err.second") lines"
grep -q "is in use by process $pid" "$tmp/err.second" || fail "a second writer: $(cat "$tmp/err.second")"

[ "$failures" -eq 0 ] && echo "kill -9: all checks passed ($kills kills, unbroken run ${unbroken}s)"
exit $((failures > 0))
