#!/usr/bin/env python3
"""The paper's MNIST VAE in PyTorch, as the CPU peer of `tapir train vae` (bench/compare_torch.sh).

Exactly tapir's default MNIST setup: encoder 784-500-N_z and decoder N_z-500-784 (tanh), Bernoulli
decoder, SGVB estimator B with L = 1, M = 100, Adagrad (lr 0.02, initial accumulator 0.01), weight decay
1/N on the weight matrices only (the N(0, I) prior on θ), N(0, 0.01) initialisation, dynamic
binarisation (a fresh Bernoulli draw per batch), float32.

Prints one JSON line per epoch: {"epoch", "seconds", "train_elbo"}, then {"peak_rss_mb"}.
    OPENBLAS_NUM_THREADS=2 python3 bench/vae_torch.py DATA_DIR --epochs 2 --threads 1
"""
import argparse
import gzip
import json
import os
import resource
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx_images(directory, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
                if magic != 0x803:
                    raise SystemExit(f"{path}: bad magic {magic:#x}")
                data = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
            return data.reshape(n, rows * cols).astype(np.float32) / 255.0
    raise SystemExit(f"{directory}: no {stem}[.gz]")


class Vae(torch.nn.Module):
    def __init__(self, x_dim=784, hidden=500, z_dim=20):
        super().__init__()
        self.enc = torch.nn.Linear(x_dim, hidden)
        self.mu = torch.nn.Linear(hidden, z_dim)
        self.log_var = torch.nn.Linear(hidden, z_dim)
        self.dec = torch.nn.Linear(z_dim, hidden)
        self.out = torch.nn.Linear(hidden, x_dim)
        for p in self.parameters():
            torch.nn.init.normal_(p, 0.0, 0.01)

    def elbo(self, x):
        h = torch.tanh(self.enc(x))
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        logits = self.out(torch.tanh(self.dec(z)))
        log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        return log_px_z - kl


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--latent", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if os.environ.get("TORCH_FLUSH_DENORMAL") == "1":
        torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    x_train = torch.from_numpy(read_idx_images(args.data, "train-images-idx3-ubyte"))
    n, m = x_train.shape[0], 100
    model = Vae(z_dim=args.latent)
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    # The prior's gradient θ/N is added to the matrices' gradients in place before each step: the same
    # update as Adagrad(weight_decay=1/N) on those parameters, but torch 1.13's weight_decay allocates a
    # new gradient tensor per parameter per step, which cost +10 ms of a 7 ms step here.
    opt = torch.optim.Adagrad(model.parameters(), lr=0.02, initial_accumulator_value=0.01)
    decay = 1.0 / n
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, m):
            x = torch.bernoulli(x_train[order[i:i + m]])
            bound = model.elbo(x).mean()
            opt.zero_grad(set_to_none=False)  # reuse the gradient buffers (True re-allocates: slower here)
            (-bound).backward()
            with torch.no_grad():
                for p in matrices:
                    p.grad.add_(p, alpha=decay)
            opt.step()
            total += bound.item() * x.shape[0]
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "seconds": seconds, "train_elbo": total / n}), flush=True)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


if __name__ == "__main__":
    main()
