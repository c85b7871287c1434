#!/usr/bin/env python3
"""The first ROWS x COLS pseudo-inputs of a VampPrior run as a PNG grid (ink dark, as the data's pictures):
   python3 scripts/pseudo_inputs.py RUN OUT.png [--rows 5] [--cols 20]
Reads RUN/checkpoint_last.safetensors (parameter prior.pseudo_x, in the data's units, clipped to [0, 1] as
the prior uses them) and prints how many pixels sit at the clip's ends. Needs numpy and PIL."""
import argparse, sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_safetensors import load  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--cols", type=int, default=20)
    a = ap.parse_args()
    path = Path(a.run) / "checkpoint_last.safetensors"
    tensors, _ = load(path)
    if "prior.pseudo_x" not in tensors:
        sys.exit(f"pseudo_inputs.py: '{path}' has no prior.pseudo_x: not a VampPrior run of tapir since 2026-11-29")
    _, shape, values = tensors["prior.pseudo_x"]
    x = np.clip(np.array(values, dtype=np.float64).reshape(shape), 0, 1)
    side = int(round(np.sqrt(shape[1])))
    if side * side != shape[1]:
        sys.exit(f"pseudo_inputs.py: pseudo-inputs of {shape[1]} pixels are not square images")
    n = min(a.rows * a.cols, shape[0])
    print(f"{shape[0]} pseudo-inputs of {shape[1]} pixels: mean {x.mean():.3f}, "
          f"{(x <= 0).mean():.1%} of the pixels at 0, {(x >= 1).mean():.1%} at 1")
    cell = side + 1
    grid = np.full((a.rows * cell + 1, a.cols * cell + 1), 0.55)  # grey lines between the images
    for k in range(n):
        r, c = divmod(k, a.cols)
        grid[1 + r * cell:1 + r * cell + side, 1 + c * cell:1 + c * cell + side] = 1 - x[k].reshape(side, side)
    img = Image.fromarray((255 * grid).astype(np.uint8))
    img.resize((img.width * 2, img.height * 2), Image.NEAREST).save(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
