#!/usr/bin/env python3
"""The CBLAS libraries Debian ships, on tapir's matrix products: one table, measured in one run.

    python3 bench/blas_survey.py --bench build/bench/bench_blas [--rounds 3] [--threads 1,2]

Runs bench_blas (bench_blas.cpp) for every installed library (OpenBLAS pthread and OpenMP builds,
BLIS pthread and OpenMP builds) x OPENBLAS_CORETYPE unset / Haswell x thread counts, interleaved in
rounds, and prints medians over rounds: one VAE training step's 14 products (ms), the evaluation
decoder's products for 10 000 rows (ms), a 1024^3 sgemm's GFLOP/s, and the same step and decoder with
the library on one thread and each product's rows split across threads by hand. On a CPU with AVX-512F
it also times tapir's own float kernel (`bench_blas --lib tapir`, autodiff/sgemm.hpp) the same way.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

LIBDIR = "/usr/lib/x86_64-linux-gnu"
LIBS = {"openblas-pthread": "openblas-pthread/libopenblas.so.0", "openblas-openmp": "openblas-openmp/libopenblas.so.0",
        "blis-pthread": "blis-pthread/libblis.so.4", "blis-openmp": "blis-openmp/libblis.so.4"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="path to bench_blas")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    libs = {k: os.path.join(LIBDIR, v) for k, v in LIBS.items() if os.path.exists(os.path.join(LIBDIR, v))}
    if not libs:
        sys.exit("blas_survey: none of the libraries is installed (apt-get install libopenblas0-pthread libblis4-pthread ...)")
    own = subprocess.run([args.bench, "--lib", "tapir", "--threads", "1", "--reps", "1"], capture_output=True)
    if own.returncode == 0:
        libs["tapir"] = "tapir"  # tapir's own kernel, on tapir's threads
    threads = [int(t) for t in args.threads.split(",")]
    results = {}
    for r in range(args.rounds):
        for name, path in libs.items():
            for ct in ("unset", "Haswell"):
                for t in threads:
                    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
                    if ct != "unset":
                        env["OPENBLAS_CORETYPE"] = ct
                    env.update(OPENBLAS_NUM_THREADS=str(t), BLIS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
                    out = subprocess.run([args.bench, "--lib", path, "--threads", str(t), "--reps", str(args.reps)],
                                         env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        sys.exit(f"bench_blas failed for {name}: {out.stderr}")
                    row = json.loads(out.stdout)
                    results.setdefault((name, ct, t), []).append(row)
                    print(f"round {r + 1}: {name:17} CORETYPE={ct:7} threads={t}: step {row['step_ms']:.3f} ms, "
                          f"decode {row['decode_ms']:.1f} ms, square {row['square_gflops']:.0f} GFLOP/s "
                          f"[{row['kernels']}]", file=sys.stderr, flush=True)
    med = lambda rows, k: statistics.median(x[k] for x in rows)
    print(f"\n{os.cpu_count()} cores; medians over {args.rounds} rounds ({args.reps} steps each)\n")
    print("| library | OPENBLAS_CORETYPE | kernels | threads | step ms | step GFLOP/s | decode 10k rows ms "
          "| 1024³ GFLOP/s | step, rows split by hand ms | decode, split by hand ms |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, ct, t), rows in results.items():
        split = lambda k: f"{med(rows, k):.3f}" if t > 1 and med(rows, k) > 0 else "–"
        print(f"| {name} | {ct} | {rows[0]['kernels']} | {t} | {med(rows, 'step_ms'):.3f} | {med(rows, 'step_gflops'):.0f} "
              f"| {med(rows, 'decode_ms'):.1f} | {med(rows, 'square_gflops'):.0f} | {split('step_split_ms')} "
              f"| {split('decode_split_ms')} |")


if __name__ == "__main__":
    main()
