#!/usr/bin/env python3
"""PyTorch's examples/vae (github.com/pytorch/examples, vae/main.py) on MNIST, as a reference for
docs/results: the number its users know ("test set loss about 105 after 10 epochs") measured here,
beside `tapir train vae` in the same setup.

The example's setup, kept as it is: 784-400-20-400-784, ReLU, sigmoid mean, the Bernoulli
cross-entropy summed over pixels on grey levels in [0, 1] (not binarised), Adam 1e-3, batch 128,
shuffled, 10 epochs, PyTorch's default initialisation; its test loss is the negative ELBO averaged over
the 10 000 test images with one draw of z each. The only change: MNIST is read from IDX files here
(torchvision is not needed).

Prints one JSON line per epoch: {"epoch", "seconds", "train_loss", "test_loss"}.
    python3 bench/torch_examples_vae.py DATA_DIR --epochs 10 --seed 1
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from vae_torch import read_idx_images


class ExampleVae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 400)
        self.fc21 = torch.nn.Linear(400, 20)
        self.fc22 = torch.nn.Linear(400, 20)
        self.fc3 = torch.nn.Linear(20, 400)
        self.fc4 = torch.nn.Linear(400, 784)

    def forward(self, x):
        h1 = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", help="directory with MNIST's IDX files")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train = torch.from_numpy(read_idx_images(args.data, "train-images-idx3-ubyte"))
    test = torch.from_numpy(read_idx_images(args.data, "t10k-images-idx3-ubyte"))
    model = ExampleVae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(train)).split(128):
            x = train[idx]
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss = loss_function(recon, x, mu, logvar)
            loss.backward()
            opt.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            test_total = 0.0
            for x in test.split(128):
                recon, mu, logvar = model(x)
                test_total += loss_function(recon, x, mu, logvar).item()
        print(json.dumps({"epoch": epoch, "seconds": round(time.time() - start, 1),
                          "train_loss": total / len(train), "test_loss": test_total / len(test)}), flush=True)


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
