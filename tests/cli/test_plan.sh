#!/usr/bin/env bash
# `tapir reproduce fig2 --seeds N --plan` end to end on synthetic data: the plan lists exactly the runs
# (count, directories, seeds), its lines run under sh (quoted paths with a space and a quote), a line run
# twice resumes instead of failing, --collect refuses unfinished runs and then tabulates the finished
# ones without training them again, and a planned run is configured exactly as reproduce's own.
#   test_plan.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" plan "$@"
out="$tmp/it's a plan"
common=(--dataset frey --data "$tmp/data" --samples 300 --latents 2 --train-eval-size 100 --seeds 2)
"$tapir" reproduce fig2 "${common[@]}" --wake-sleep --out "$out" --plan >"$tmp/plan.txt" 2>"$tmp/err" ||
  fail "--plan: $(cat "$tmp/err")"
[ ! -e "$out" ] || fail "--plan created $out"
[ "$(wc -l <"$tmp/plan.txt")" -eq 5 ] || fail "plan has $(wc -l <"$tmp/plan.txt") lines, expected 4 runs + collect"
grep -q "lines 1-4" "$tmp/err" || fail "--plan's note on stderr: $(cat "$tmp/err")"
head -n 4 "$tmp/plan.txt" | grep -o -- "--out '[^']*'\\\\''[^']*'; fi" | sort -u >"$tmp/dirs"
[ "$(wc -l <"$tmp/dirs")" -eq 4 ] || fail "plan's run directories are not 4 distinct ones: $(cat "$tmp/dirs")"
for want in "vae .*--seed 1 .*nz2-seed1'" "vae .*--seed 3 .*nz2-seed3'" "wake-sleep .*--seed 1 .*ws-nz2-seed1'" \
  "wake-sleep .*--seed 3 .*ws-nz2-seed3'"; do
  [ "$(head -n 4 "$tmp/plan.txt" | grep -c -- "$want")" -eq 1 ] || fail "plan has no single line for '$want'"
done
tail -1 "$tmp/plan.txt" | grep -q "reproduce fig2 .*--seeds 2 --wake-sleep .*--collect$" ||
  fail "plan's last line is not the collect command: $(tail -1 "$tmp/plan.txt")"

# The most work first: wake-sleep (1.6x an AEVB step) before AEVB.
head -n 2 "$tmp/plan.txt" | grep -c " train wake-sleep " | grep -qx 2 || fail "the plan does not start with wake-sleep"

# AEVB's seed-1 line as a Slurm array task would run it; then again (a requeued task): it resumes.
n1=$(grep -n -- "/nz2-seed1'; fi" "$tmp/plan.txt" | cut -d: -f1)  # (wake-sleep's are .../ws-nz2-...)
[ -n "$n1" ] || fail "no plan line for nz2-seed1"
SLURM_ARRAY_TASK_ID=${n1:-1}
sed -n "${SLURM_ARRAY_TASK_ID}p" "$tmp/plan.txt" | sh >/dev/null 2>"$tmp/err" || fail "plan line $n1: $(cat "$tmp/err")"
run1="$out/nz2-seed1"
tail -1 "$run1/curve.csv" | grep -q "^300," || fail "plan line $n1 did not train nz2-seed1 to 300 samples"
sum1=$(md5sum <"$run1/checkpoint_last.safetensors")
sed -n "${n1:-1}p" "$tmp/plan.txt" | sh >/dev/null 2>"$tmp/err" || fail "plan line $n1 again: $(cat "$tmp/err")"

# --collect before the others are done: one line naming them, exit 1, nothing trained.
collect=$(tail -1 "$tmp/plan.txt")
sh -c "$collect --progress none" >/dev/null 2>"$tmp/err" && fail "--collect with unfinished runs succeeded"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "--collect printed $(wc -l <"$tmp/err") lines: $(cat "$tmp/err")"
grep -q "3 of 4 runs are not finished: .*ws-nz2-seed3 (not started)" "$tmp/err" || fail "--collect: $(cat "$tmp/err")"
[ ! -e "$out/nz2-seed3" ] || fail "--collect trained a run"

head -n 4 "$tmp/plan.txt" | grep -v -- "/nz2-seed1'; fi" | sh >/dev/null 2>"$tmp/err" ||
  fail "the other plan lines: $(cat "$tmp/err")"
sh -c "$collect --progress none" >"$tmp/table" 2>"$tmp/err" || fail "--collect: $(cat "$tmp/err")"
grep -q "^| 2 | AEVB | 2 | 300 | .* ± .* | .* ± .* |" "$tmp/table" || fail "collect's table: $(cat "$tmp/table")"
grep -q "^| 2 | wake-sleep | 2 |" "$out/fig2_frey.md" || fail "written table: $(cat "$out/fig2_frey.md")"
[ "$(md5sum <"$run1/checkpoint_last.safetensors")" = "$sum1" ] || fail "a finished run was trained again"
grep -q "^\"AEVB N_z = 2\"," "$out/fig2_frey.csv" || fail "the figure's CSV lacks the mean curve"
if command -v gnuplot >/dev/null; then
  [ -s "$out/fig2_frey.png" ] && [ -s "$out/fig2_frey_nz2.png" ] || fail "collect drew no figures: $(cat "$tmp/err")"
fi

# The planned run is the run reproduce makes itself: the same config.json.
"$tapir" reproduce fig2 "${common[@]}" --out "$tmp/own" --progress none >/dev/null 2>"$tmp/err" ||
  fail "reproduce with seeds: $(cat "$tmp/err")"
cmp -s "$tmp/own/nz2-seed3/config.json" "$out/nz2-seed3/config.json" ||
  fail "a planned run's config differs from reproduce's: $(diff "$tmp/own/nz2-seed3/config.json" "$out/nz2-seed3/config.json")"

[ "$failures" -eq 0 ] && echo "plan: all passed"
exit "$failures"
