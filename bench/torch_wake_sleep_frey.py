#!/usr/bin/env python3
"""Wake-sleep on Frey Face in PyTorch, written from the algorithm (not from tapir's code), to tell whether
wake-sleep's plateau at the z-ignoring model (docs/results/fig2.md, Frey Face) is the method's or tapir's.

The AEVB paper's setup as tapir runs it: encoder and decoder with one layer of 200 tanh units, Gaussian
q(z|x), Gaussian p(x|z) with a sigmoid mean and a free log-variance per pixel (a linear head), N(0, I) prior,
every parameter from N(0, 0.01^2), M = 100, Adagrad 0.02 with the starting accumulator given, weight decay
1/N on the weight matrices. One step: wake, z ~ q(z|x) held fixed, ascend log p(x|z) + log p(z) in θ;
sleep, z~ ~ p(z), x~ ~ p(x|z~) held fixed, ascend log q(z~|x~) in φ. Prints the train bound
(the wake sample's log p(x, z) - log q(z|x), averaged over the training frames) as it goes.

    python3 bench/torch_wake_sleep_frey.py --data ../shared/data/frey-faces-idx3-ubyte --latent 10 \
        --samples 1000000 --accumulator 1e-6 [--seed 1]
"""
import argparse
import math
import struct

import torch


def frey(path):
    raw = open(path, "rb").read()
    n, rows, cols = struct.unpack(">III", raw[4:16])
    x = torch.frombuffer(bytearray(raw[16:16 + n * rows * cols]), dtype=torch.uint8).reshape(n, rows * cols)
    return x.double().div(255.0).float()


def linear(n_in, n_out, gen):
    w = torch.nn.Parameter(torch.randn(n_in, n_out, generator=gen) * 0.01)
    b = torch.nn.Parameter(torch.randn(n_out, generator=gen) * 0.01)
    return w, b


def gauss_logpdf(x, mu, log_var):
    return (-0.5 * (math.log(2 * math.pi) + log_var + (x - mu) ** 2 / log_var.exp())).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--latent", type=int, default=10)
    ap.add_argument("--samples", type=int, default=1000000)
    ap.add_argument("--accumulator", type=float, default=1e-6, help="Adagrad's start (tapir's default: 0.01/M^2)")
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(a.seed)
    data = frey(a.data)
    train = data[torch.randperm(len(data), generator=gen)[:1765]]
    n, d, h, k, m = len(train), train.shape[1], 200, a.latent, 100
    enc = [*linear(d, h, gen), *linear(h, k, gen), *linear(h, k, gen)]  # trunk, mu, log_var
    dec = [*linear(k, h, gen), *linear(h, d, gen), *linear(h, d, gen)]  # trunk, mu, log_var
    params = enc + dec
    weights = [p for p in params if p.dim() == 2]
    opt = torch.optim.Adagrad(params, lr=a.lr, initial_accumulator_value=a.accumulator)

    def encode(x):
        t = torch.tanh(x @ enc[0] + enc[1])
        return t @ enc[2] + enc[3], t @ enc[4] + enc[5]

    def decode(z):
        t = torch.tanh(z @ dec[0] + dec[1])
        return torch.sigmoid(t @ dec[2] + dec[3]), t @ dec[4] + dec[5]

    def bound(x):
        with torch.no_grad():
            mu, lv = encode(x)
            z = mu + (0.5 * lv).exp() * torch.randn(mu.shape, generator=gen)
            xm, xlv = decode(z)
            zero = torch.zeros_like(z)
            return (gauss_logpdf(x, xm, xlv) + gauss_logpdf(z, zero, zero) - gauss_logpdf(z, mu, lv)).mean().item()

    steps = a.samples // m
    for step in range(1, steps + 1):
        x = train[torch.randint(n, (m,), generator=gen)]
        with torch.no_grad():  # the wake sample and the dream are constants
            mu, lv = encode(x)
            z = mu + (0.5 * lv).exp() * torch.randn(mu.shape, generator=gen)
            z_dream = torch.randn(m, k, generator=gen)
            xm, xlv = decode(z_dream)
            x_dream = xm + (0.5 * xlv).exp() * torch.randn(xm.shape, generator=gen)
        xm, xlv = decode(z)
        wake = (gauss_logpdf(x, xm, xlv) + gauss_logpdf(z, torch.zeros_like(z), torch.zeros_like(z))).mean()
        qm, qlv = encode(x_dream)
        sleep = gauss_logpdf(z_dream, qm, qlv).mean()
        decay = sum((w ** 2).sum() for w in weights) * 0.5 / n
        opt.zero_grad()
        (-(wake + sleep) + decay).backward()
        opt.step()
        if step % (steps // 10) == 0 or step == steps:
            print(f"samples {step * m:>9}  train bound {bound(train):9.2f}", flush=True)


if __name__ == "__main__":
    main()
