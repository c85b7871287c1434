#!/bin/bash
# scripts/full_budget.sh — the paper's figures at the paper's budget, as one resumable job: Figure 2 with
# 3 seeds to 10^7 samples (Frey Face, then MNIST), Figure 3 to 6 * 10^7 (N_train 1000, then 50 000), Figure 2
# to 10^8 on one seed for Frey Face, and last Figure 2 to 10^8 for MNIST. AEVB and wake-sleep
# everywhere, MCEM in Figure 3.
#
#   bash scripts/full_budget.sh [--tapir build/tapir] [--data data] [--out runs/full] [--jobs 2]
#                               [--only STEP[,STEP...]] [--records docs/results/runs] [--dry-run]
#
# Steps, in order: frey-seeds mnist-seeds fig3-n1000 fig3-n50000 frey-1e8 mnist-1e8. Each is one
# `tapir reproduce` that keeps its finished runs and resumes the others, so running this again (after a
# reboot, a kill, the end of a session) continues where it stopped; a step that fails is logged and the
# next one starts. JOBS runs train at once (one thread each when JOBS > 1), at nice 19. Progress: OUT/full_budget.log
# (one line per step), OUT/full_budget.out (the commands' output), each run's curve.csv.
# --records DIR carries finished runs across machines and sessions (scripts/record_runs.py): before a step,
# the runs on record in DIR/STEPDIR are copied into OUT/STEPDIR, where the step keeps them as finished; after
# it (and every 10 minutes while it runs), every run it finished is recorded there (config.json and curve.csv:
# commit them).
# Compute on a 2-core machine (2026-11-28): about 25 hours in all, most of it the MNIST runs to 10^8.
set -u
tapir=build/tapir data=data out=runs/full jobs=2 only="" records="" dry=0
while [ $# -gt 0 ]; do
  case $1 in
    --tapir) tapir=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "full_budget.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$tapir" ] || { echo "full_budget.sh: no tapir at '$tapir' (build it, or pass --tapir PATH)" >&2; exit 2; }
[ -d "$data/mnist" ] || { echo "full_budget.sh: no MNIST in '$data/mnist' (bash scripts/fetch_data.sh $data --only all)" >&2; exit 2; }
[ $dry = 1 ] || mkdir -p "$out"
log=$out/full_budget.log

record() {  # record FROM TO: finished runs' config.json and curve.csv (scripts/record_runs.py)
  [ -d "$1" ] || return 0
  python3 "$(dirname "$0")/record_runs.py" "$1" "$2" >> "$log" 2>&1 || echo "$(date -u +%FT%TZ) could not record $1 in $2" >> "$log"
}

step() {  # step NAME DIR COMMAND...: DIR is the step's --out, named as in OUT and in --records
  local name=$1 dir=$2
  shift 2
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then return 0; fi
  if [ $dry = 1 ]; then echo "$name: $*"; return 0; fi
  local recorder=""
  if [ -n "$records" ]; then
    record "$records/$dir" "$out/$dir"
    # every 10 minutes too, so that a session's end or a reboot loses no finished run
    (while sleep 600; do record "$out/$dir" "$records/$dir"; done) &
    recorder=$!
  fi
  echo "$(date -u +%FT%TZ) start $name: $*" >> "$log"
  local threads=()
  [ "$jobs" -gt 1 ] && threads=(env TAPIR_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)  # runs side by side: one thread each
  # nice alone is not enough where the kernel groups processes by session (sched_autogroup: a session
  # gets its share whatever its processes' nice), so the step runs in a session of its own whose group
  # is niced too; builds and benchmarks in other sessions then get the cores.
  setsid -w bash -c 'echo 19 > /proc/self/autogroup 2> /dev/null; exec nice -n 19 "$@"' step "${threads[@]}" "$@" \
    >> "$out/full_budget.out" 2>&1
  local rc=$?
  echo "$(date -u +%FT%TZ) exit $rc $name" >> "$log"
  if [ -n "$recorder" ]; then
    kill "$recorder" 2> /dev/null
    record "$out/$dir" "$records/$dir"
  fi
}

fig2=("$tapir" reproduce fig2 --wake-sleep --jobs "$jobs")
step frey-seeds fig2-frey-seeds "${fig2[@]}" --dataset frey --data "$data" --samples 10000000 --seeds 3 \
  --out "$out/fig2-frey-seeds"
step mnist-seeds fig2-mnist-seeds "${fig2[@]}" --dataset mnist --data "$data/mnist" --samples 10000000 \
  --train-eval-size 10000 --seeds 3 --out "$out/fig2-mnist-seeds"
step fig3-n1000 fig3-n1000 "$tapir" reproduce fig3 --data "$data/mnist" --ntrain 1000 --samples 60000000 \
  --jobs "$jobs" --out "$out/fig3-n1000"
step fig3-n50000 fig3-n50000 "$tapir" reproduce fig3 --data "$data/mnist" --ntrain 50000 --samples 60000000 \
  --jobs "$jobs" --out "$out/fig3-n50000"
step frey-1e8 fig2-frey-1e8 "${fig2[@]}" --dataset frey --data "$data" --samples 100000000 --out "$out/fig2-frey-1e8"
# Last: the longest step (about 19 hours), after the two complete Figure 3 panels.
step mnist-1e8 fig2-mnist-1e8 "${fig2[@]}" --dataset mnist --data "$data/mnist" --samples 100000000 \
  --train-eval-size 10000 --out "$out/fig2-mnist-1e8"
