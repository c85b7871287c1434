#!/usr/bin/env python3
"""Copies the record of every finished run in SRC to DEST: its config.json and curve.csv, not its checkpoints.

    python3 scripts/record_runs.py SRC DEST [--dry-run]

A run is a subdirectory of SRC with a config.json and a curve.csv whose last row reached the configuration's
budget (train.samples). DEST/NAME receives the two files unless it holds a run of its own (a checkpoint):
a run being trained there is never touched. Both directions use it:

- after runs finish, keep them in the repository: SRC runs/full/fig2-frey-seeds, DEST
  docs/results/runs/fig2-frey-seeds (a few kB per run);
- on another machine or in a later session, put those records back where a reproduction will look:
  `tapir reproduce fig2` and `--collect` take a run on record (config.json and a finished curve, no checkpoint)
  as finished, so new runs and recorded ones make one figure.

Prints one line per run (recorded, kept, unfinished); exits non-zero when SRC holds no run or a run's files
cannot be read (the other runs are recorded all the same).
"""
import json
import shutil
import sys
from pathlib import Path

FILES = ("config.json", "curve.csv")


def last_samples(curve: Path) -> int:
    lines = [line for line in curve.read_text().splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("samples,"):
        return -1
    return int(float(lines[-1].split(",", 1)[0]))


def budget(config: Path) -> int:
    return int(json.loads(config.read_text())["train"]["samples"])


def main(argv):
    args = [a for a in argv if a != "--dry-run"]
    dry = len(args) != len(argv)
    if "-h" in args or "--help" in args:
        print(__doc__.strip())
        return 0
    if len(args) != 2:
        print("usage: record_runs.py SRC DEST [--dry-run] (see --help)", file=sys.stderr)
        return 2
    src, dest = Path(args[0]), Path(args[1])
    if not src.is_dir():
        print(f"record_runs.py: '{src}' is not a directory", file=sys.stderr)
        return 2
    runs = sorted(d for d in src.iterdir() if d.is_dir() and all((d / f).is_file() for f in FILES))
    if not runs:
        print(f"record_runs.py: no run in '{src}' (a run directory holds {' and '.join(FILES)})", file=sys.stderr)
        return 1
    failed = False
    for run in runs:
        try:
            reached, wanted = last_samples(run / "curve.csv"), budget(run / "config.json")
        except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
            print(f"record_runs.py: '{run}': unreadable config.json or curve.csv ({e}); not recorded", file=sys.stderr)
            failed = True
            continue
        target = dest / run.name
        if reached < wanted:
            print(f"unfinished {run.name}: {max(reached, 0)} of {wanted} samples")
        elif any(target.glob("checkpoint_*.safetensors")):
            print(f"kept       {target}: it holds a run of its own")
        else:
            print(f"recorded   {run.name} -> {target}")
            if not dry:
                target.mkdir(parents=True, exist_ok=True)
                for f in FILES:
                    shutil.copyfile(run / f, target / f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
