#!/usr/bin/env python3
"""Seconds per epoch and peak memory: `tapir train vae` against the same model in PyTorch (vae_torch.py).

The paper's MNIST setup (784-500-20-500-784, tanh, Bernoulli, M = 100, Adagrad, float32) on the real
training set, both in the same environment, interleaved in rounds; the table gives the median
seconds per epoch over every epoch after the first (the first carries allocation and warm-up) and the
peak resident memory of each process (os.wait4).

    python3 bench/compare_torch.py --tapir build/tapir --data ../shared/data/mnist [--rounds 3 --epochs 3]

Settings, the same for both unless said: OPENBLAS_CORETYPE as exported (these machines: Haswell);
OPENBLAS_NUM_THREADS=2 (tapir's out-of-the-box OpenBLAS uses every core: 2 here); PyTorch with 1
intra-op thread (its best here: 2 intra-op threads fight OpenBLAS's); --torch-default adds PyTorch's
default (2 intra-op threads) as a third column.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env):
    """Runs cmd; returns (stdout, peak RSS in MB)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        err = p.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(cmd)} failed: {err}")
        out.seek(0)
        return out.read().decode(), usage.ru_maxrss / 1024


def tapir_epochs(args, env, round_):
    with tempfile.TemporaryDirectory() as d:
        run_dir = os.path.join(d, "run")
        _, rss = run([args.tapir, "train", "vae", "--dataset", "mnist", "--data", args.data, "--out", run_dir,
                      "--samples", str(60000 * args.epochs), "--eval-every", "60000", "--train-eval-size", "1000",
                      "--seed", str(round_ + 1), "--progress", "none"], env)
        with open(os.path.join(run_dir, "curve.csv")) as f:
            seconds = [float(r["seconds"]) for r in csv.DictReader(f)]
    return [b - a for a, b in zip([0.0] + seconds, seconds)], rss


def torch_epochs(args, env, threads, round_):
    out, rss = run([args.python, os.path.join(HERE, "vae_torch.py"), args.data, "--epochs", str(args.epochs),
                    "--threads", str(threads), "--seed", str(round_ + 1)], env)
    rows = [json.loads(line) for line in out.splitlines()]
    return [r["seconds"] for r in rows if "seconds" in r], rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tapir", required=True, help="path to the tapir binary")
    ap.add_argument("--data", required=True, help="directory with train-images-idx3-ubyte[.gz]")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python that has torch (Debian's)")
    ap.add_argument("--torch-default", action="store_true", help="also PyTorch with its default thread count")
    args = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    peers = {"tapir": lambda r: tapir_epochs(args, env, r),
             "pytorch (1 intra-op thread)": lambda r: torch_epochs(args, env, 1, r)}
    if args.torch_default:
        peers["pytorch (default: 2 intra-op threads)"] = lambda r: torch_epochs(args, env, 2, r)
    times = {k: [] for k in peers}
    rss = {k: [] for k in peers}
    for r in range(args.rounds):
        for name, fn in peers.items():
            t, m = fn(r)
            times[name] += t[1:]
            rss[name].append(m)
            print(f"round {r + 1} {name}: epochs {', '.join(f'{s:.2f}' for s in t)} s, peak {m:.0f} MB", flush=True)
    base = statistics.median(times["tapir"])
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, OPENBLAS_NUM_THREADS=2, "
          f"{args.rounds} rounds x {args.epochs} epochs (first epoch of each run not counted)\n")
    print("| implementation | median s/epoch | min | max | vs tapir | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in peers:
        t = times[name]
        print(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f} | {max(t):.2f} | "
              f"{statistics.median(t) / base:.2f}x | {max(rss[name]):.0f} |")


if __name__ == "__main__":
    main()
