#!/usr/bin/env python3
"""tapir's performance in one table, every ratio measured in this run: the paper's MNIST epoch against
PyTorch and against the raw sgemm time of the same products, the tape's overhead, `tapir eval` with
K = 5000 against its product floor, and peak memory — for OPENBLAS_CORETYPE unset and Haswell.

    python3 bench/perf_table.py --build build --data data/mnist [--baseline OLD/tapir] [--rounds 3]

What each row is (medians over rounds; runs interleaved so drift hits every column alike, tapir and the baseline
in alternating order):
- epoch: seconds of training steps per epoch of `tapir train vae` (784-500-20-500-784, tanh, Bernoulli,
  M = 100, Adagrad, float32; curve.csv's seconds, evaluation excluded) and of bench/vae_torch.py
  (PyTorch, 1 intra-op thread: its best here), every epoch but each run's first;
- raw sgemm: bench_tape's variant (c), only the 14 sgemm calls of a step, x 600 steps: through tapir's
  products as it runs them (on a CPU with AVX-512F its own kernel for products of >= 4 MFLOP, else the
  library's, split over its 2 threads, the library on one), on the library's own 2 threads
  (TAPIR_GEMM_THREADS=library), and, when tapir's kernel runs, on the BLAS library alone
  (TAPIR_BLAS=blis|openblas); the ratio uses the fastest;
- tape / manual: bench_tape's (a) tape step against (b) the same step written by hand, 1 and 2 threads;
- training step / raw sgemm: bench_tape's (d), the trainer's whole step (batch from bytes, the library's VAE and
  AEVB with Adagrad), timed in the same process and rounds as (c): the epoch's ratio without two processes'
  drift between them (on this VM the epoch / raw ratio of neighbouring processes moved between 1.1 and 1.9);
- eval: `tapir eval --limit N -k 5000` wall time on the first N test images of a run trained here for
  one epoch; its floor: N x K decoder passes (20→500→784) at the speed bench_blas measures for those
  products (10 000 rows) on 2 threads, the faster of the same library and tapir's kernel;
- peak RSS: from wait4.
Threads: OPENBLAS_NUM_THREADS=2 for both, TAPIR_NUM_THREADS=2 (tapir's default on 2 cores: its pool
splits the products, the library runs on one thread); --baseline adds an older tapir.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_torch import run, tapir_epochs, torch_epochs  # noqa: E402

DECODER_FLOP = 2 * (20 * 500 + 500 * 784)  # per importance sample


def env_for(coretype, threads=2):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if coretype != "unset":
        env["OPENBLAS_CORETYPE"] = coretype
    env.update(OPENBLAS_NUM_THREADS=str(threads), BLIS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               TAPIR_NUM_THREADS=str(threads))
    return env


def bench_tape(path, env, threads, only="abc"):
    out = subprocess.run([path, "--threads", str(threads), "--steps", "200", "--only", only], env=env,
                         capture_output=True, text=True, check=True).stdout
    ms = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\((a|b|c|d)\) [a-z ]+?\s+([0-9.]+)", out, re.M)}
    kernels = re.search(r"kernels '([^']*)'", out)
    return ms, kernels.group(1) if kernels else "?"


def blas_library(tapir, env):
    """The BLAS library doing tapir's products under `env`: BLIS when `tapir --version` says so (it
    loads BLIS itself when OpenBLAS runs pre-AVX2 kernels), else the one the binary links (ldd)."""
    version = subprocess.run([tapir, "--version"], env=env, capture_output=True, text=True).stdout
    if "BLAS: BLIS" in version or "the rest: BLIS" in version:
        return "/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4"
    out = subprocess.run(["ldd", tapir], capture_output=True, text=True).stdout
    for lib in ("libopenblas", "libblis", "libblas"):
        m = re.search(rf"{lib}[^ ]* => (\S+)", out)
        if m:
            return os.path.realpath(m.group(1))
    sys.exit(f"perf_table: cannot tell which BLAS {tapir} uses (ldd)")


def own_kernel(tapir, env):
    """True when tapir's float products run on its own AVX-512 kernel (`tapir --version`)."""
    version = subprocess.run([tapir, "--version"], env=env, capture_output=True, text=True).stdout
    return "BLAS: tapir" in version


def eval_seconds(tapir, run_dir, limit, k, env):
    t0 = time.monotonic()
    out, rss = run([tapir, "eval", run_dir, "--split", "test", "--limit", str(limit), "-k", str(k)], env)
    return time.monotonic() - t0, rss, json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="tapir's build directory (tapir, bench/bench_tape, bench/bench_blas)")
    ap.add_argument("--data", required=True, help="directory with MNIST's IDX files")
    ap.add_argument("--baseline", help="an older tapir binary to time beside this one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--eval-limit", type=int, default=200, help="test images for the K = 5000 evaluation")
    ap.add_argument("--coretypes", default="unset,Haswell")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python that has torch (Debian's)")
    args = ap.parse_args()
    tapir = os.path.join(args.build, "tapir")
    tape_bench = os.path.join(args.build, "bench", "bench_tape")
    blas_bench = os.path.join(args.build, "bench", "bench_blas")
    for p in (tapir, tape_bench, blas_bench):
        if not os.access(p, os.X_OK):
            sys.exit(f"perf_table: {p} is missing: cmake --build {args.build} --target tapir_cli bench_tape bench_blas")
    coretypes = args.coretypes.split(",")
    k = 5000
    peers = {"tapir": tapir}
    if args.baseline:
        peers["baseline"] = args.baseline
    r = {ct: {} for ct in coretypes}

    def add(ct, key, value):
        r[ct].setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        run([tapir, "train", "vae", "--dataset", "mnist", "--data", args.data, "--out", model, "--samples", "60000",
             "--eval-every", "60000", "--train-eval-size", "1000", "--seed", "1", "--progress", "none"], env_for("unset"))
        targs = argparse.Namespace(tapir=tapir, data=args.data, epochs=args.epochs, python=args.python)
        for rnd in range(args.rounds):
            for ct in coretypes:
                env = env_for(ct)
                # ABBA: on this VM the second of two back-to-back runs is often the slower one, so the
                # order of tapir and the baseline alternates between rounds.
                for name, binary in (list(peers.items()) if rnd % 2 == 0 else list(peers.items())[::-1]):
                    targs.tapir = binary
                    t, m = tapir_epochs(targs, env, rnd)
                    add(ct, f"{name}_epoch", statistics.median(t[1:]))
                    add(ct, f"{name}_rss", m)
                    s, m, _ = eval_seconds(binary, model, args.eval_limit, k, env)
                    add(ct, f"{name}_eval", s)
                    add(ct, f"{name}_eval_rss", m)
                t, m = torch_epochs(targs, env, 1, rnd)
                add(ct, "torch_epoch", statistics.median(t[1:]))
                add(ct, "torch_rss", m)
                for threads in (1, 2):
                    ms, kernels = bench_tape(tape_bench, env_for(ct, threads), threads, "abcd" if threads == 2 else "abc")
                    add(ct, f"tape_{threads}", ms["a"] / ms["b"])
                    if threads == 2:
                        add(ct, "raw_step_ms", ms["c"])
                        add(ct, "train_step_ms", ms["d"])
                        lib_ms, _ = bench_tape(tape_bench, dict(env_for(ct, threads), TAPIR_GEMM_THREADS="library"),
                                               threads, "c")
                        add(ct, "raw_lib_step_ms", lib_ms["c"])
                        if own_kernel(tapir, env):  # the same products on the BLAS library alone
                            lib_name = "blis" if "blis" in blas_library(tapir, env) else "openblas"
                            lib_ms, _ = bench_tape(tape_bench, dict(env_for(ct, threads), TAPIR_BLAS=lib_name),
                                                   threads, "cd")
                            add(ct, "raw_blas_step_ms", lib_ms["c"])
                            add(ct, "train_blas_step_ms", lib_ms["d"])
                r[ct]["kernels"] = kernels
                lib = blas_library(tapir, env)
                out = subprocess.run([blas_bench, "--lib", lib, "--threads", "2", "--reps", "100"], env=env,
                                     capture_output=True, text=True, check=True).stdout
                decode_ms = json.loads(out)["decode_ms"]
                if own_kernel(tapir, env):  # the floor is the faster of the library and tapir's kernel
                    out = subprocess.run([blas_bench, "--lib", "tapir", "--threads", "2", "--reps", "100"], env=env,
                                         capture_output=True, text=True, check=True).stdout
                    decode_ms = min(decode_ms, json.loads(out)["decode_ms"])
                add(ct, "decode_row_s", decode_ms * 1e-3 / 10000)
                print(f"round {rnd + 1} CORETYPE={ct}: " + ", ".join(
                    f"{key} {v[-1]:.4g}" for key, v in r[ct].items() if isinstance(v, list)), file=sys.stderr, flush=True)

    med = lambda ct, key: statistics.median(r[ct][key])
    fastest_raw = lambda ct: min(med(ct, key) for key in ("raw_step_ms", "raw_lib_step_ms", "raw_blas_step_ms")
                                 if key in r[ct])
    rows = [("BLAS kernels (tapir)", lambda ct: r[ct]["kernels"])]
    rows.append(("tapir s/epoch", lambda ct: f"{med(ct, 'tapir_epoch'):.2f}"))
    if args.baseline:
        rows.append(("baseline tapir s/epoch", lambda ct: f"{med(ct, 'baseline_epoch'):.2f}"))
    rows += [
        ("PyTorch s/epoch (1 intra-op thread)", lambda ct: f"{med(ct, 'torch_epoch'):.2f}"),
        ("**tapir / PyTorch** (goal ≤ 0.5)", lambda ct: f"**{med(ct, 'tapir_epoch') / med(ct, 'torch_epoch'):.2f}**"),
        ("raw sgemm s per epoch (600 × 14 products), as tapir runs them", lambda ct: f"{med(ct, 'raw_step_ms') * 0.6:.2f}"),
        ("raw sgemm s per epoch, the library's own threads", lambda ct: f"{med(ct, 'raw_lib_step_ms') * 0.6:.2f}"),
        ("raw sgemm s per epoch, the BLAS library alone (split by tapir)",
         lambda ct: f"{med(ct, 'raw_blas_step_ms') * 0.6:.2f}" if "raw_blas_step_ms" in r[ct] else "–"),
        ("**tapir epoch / raw sgemm** (the fastest raw; goal ≤ 1.25)",
         lambda ct: f"**{med(ct, 'tapir_epoch') / (fastest_raw(ct) * 0.6):.2f}**"),
        ("training step ms (bench_tape d: the trainer's step), as tapir runs the products / on the library alone",
         lambda ct: f"{med(ct, 'train_step_ms'):.2f}" + (f" / {med(ct, 'train_blas_step_ms'):.2f}"
                                                          if "train_blas_step_ms" in r[ct] else "")),
        ("training step / raw sgemm, neighbours in one process (d / c), as tapir runs them / on the library alone",
         lambda ct: f"{med(ct, 'train_step_ms') / med(ct, 'raw_step_ms'):.2f}" + (
             f" / {med(ct, 'train_blas_step_ms') / med(ct, 'raw_blas_step_ms'):.2f}" if "train_blas_step_ms" in r[ct]
             else "")),
        ("**fastest training step / fastest raw sgemm** (goal ≤ 1.25)",
         lambda ct: f"**{min(med(ct, key) for key in ('train_step_ms', 'train_blas_step_ms') if key in r[ct]) / fastest_raw(ct):.2f}**"),
        ("tape / manual step, 1 thread (goal ≤ 1.02)", lambda ct: f"{med(ct, 'tape_1'):.3f}"),
        ("tape / manual step, 2 threads (goal ≤ 1.02)", lambda ct: f"{med(ct, 'tape_2'):.3f}"),
        (f"tapir eval K = {k}, {args.eval_limit} test images, s", lambda ct: f"{med(ct, 'tapir_eval'):.1f}"),
    ]
    if args.baseline:
        rows.append((f"baseline eval, s", lambda ct: f"{med(ct, 'baseline_eval'):.1f}"))
    rows += [
        ("its product floor (decoder sgemm on 2 threads, the faster of the library and tapir's kernel), s",
         lambda ct: f"{med(ct, 'decode_row_s') * args.eval_limit * k:.1f}"),
        ("**eval / floor** (goal ≤ 1.5)",
         lambda ct: f"**{med(ct, 'tapir_eval') / (med(ct, 'decode_row_s') * args.eval_limit * k):.2f}**"),
        ("eval peak RSS MB (goal < 1000)", lambda ct: f"{max(r[ct]['tapir_eval_rss']):.0f}"),
        ("training peak RSS MB: tapir", lambda ct: f"{max(r[ct]['tapir_rss']):.0f}"),
    ]
    if args.baseline:
        rows.append(("training peak RSS MB: baseline", lambda ct: f"{max(r[ct]['baseline_rss']):.0f}"))
    rows += [
        ("training peak RSS MB: PyTorch", lambda ct: f"{max(r[ct]['torch_rss']):.0f}"),
        ("**tapir / PyTorch RSS** (goal ≤ 0.35)",
         lambda ct: f"**{max(r[ct]['tapir_rss']) / max(r[ct]['torch_rss']):.2f}**"),
    ]
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, OPENBLAS_NUM_THREADS=2, "
          f"{args.rounds} rounds x {args.epochs} epochs (medians)\n")
    print("| | " + " | ".join(f"OPENBLAS_CORETYPE={ct}" for ct in coretypes) + " |")
    print("|---|" + "---:|" * len(coretypes))
    for label, f in rows:
        print(f"| {label} | " + " | ".join(f(ct) for ct in coretypes) + " |")


if __name__ == "__main__":
    main()
