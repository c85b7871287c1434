#!/usr/bin/env python3
"""Nothing gets slower: short runs of each training method — Figure 2's AEVB (N_z = 3 and 200),
wake-sleep, MCEM (HMC, N_z = 3, 100 hidden units) and AVB — with two tapir binaries, interleaved in
rounds whose order alternates (old then new in odd rounds, new then old in even ones: on a shared VM the
second of two back-to-back runs is often the slower); prints the median seconds of training steps (curve.csv's last `seconds`) and of wall time.

    python3 bench/methods_before_after.py --old OLD/tapir --new build/tapir --data data/mnist [--rounds 2]
"""
import argparse
import csv
import statistics
import subprocess
import tempfile
import time

RUNS = {
    "Figure 2 AEVB, N_z = 3": ["vae", "--latent", "3", "--samples", "120000", "--eval-every", "60000",
                               "--train-eval-size", "1000"],
    "Figure 2 AEVB, N_z = 200": ["vae", "--latent", "200", "--samples", "120000", "--eval-every", "60000",
                                 "--train-eval-size", "1000"],
    "wake-sleep, N_z = 20": ["wake-sleep", "--latent", "20", "--samples", "120000", "--eval-every", "60000",
                             "--train-eval-size", "1000"],
    "MCEM, N_z = 3, 100 hidden": ["mcem", "--latent", "3", "--hidden", "100", "--samples", "10000",
                                  "--eval-every", "5000", "--ais-points", "20"],
    "AVB, N_z = 8": ["avb", "--latent", "8", "--samples", "30000", "--eval-every", "15000",
                     "--train-eval-size", "500"],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--data", required=True, help="directory with MNIST's IDX files")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    res = {}
    for r in range(args.rounds):
        for name, run_args in RUNS.items():
            for tag in ("old", "new") if r % 2 == 0 else ("new", "old"):
                with tempfile.TemporaryDirectory() as d:
                    t0 = time.time()
                    subprocess.run([getattr(args, tag), "train"] + run_args +
                                   ["--dataset", "mnist", "--data", args.data, "--out", d + "/run", "--seed",
                                    str(r + 1), "--progress", "none"], capture_output=True, check=True)
                    wall = time.time() - t0
                    with open(d + "/run/curve.csv") as f:
                        train = float(list(csv.DictReader(f))[-1]["seconds"])
                res.setdefault((name, tag), []).append((train, wall))
                print(f"round {r + 1} {name} {tag}: {train:.2f} s training, {wall:.1f} s wall", flush=True)
    print("\n| run | old: training s | new: training s | new / old | old: wall s | new: wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in RUNS:
        med = lambda tag, i: statistics.median(x[i] for x in res[(name, tag)])
        print(f"| {name} | {med('old', 0):.2f} | {med('new', 0):.2f} | {med('new', 0) / med('old', 0):.2f} | "
              f"{med('old', 1):.1f} | {med('new', 1):.1f} |")


if __name__ == "__main__":
    main()
