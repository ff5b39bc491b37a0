"""`make demo`: the seed's LSTM model trained on the bundled yearly sunspots.

The seed's model (LSTM(64, return_sequences) -> LSTM(32) -> Dense(1)) is built
from rnnkit.nn drop-ins and trained for a few epochs; the loss is printed as it
falls, next to the persistence baseline (predict next year = this year).
"""
from __future__ import annotations

import csv
import time
from importlib import resources

import numpy as np
import torch
from torch import nn

import rnnkit.nn as rnn

WINDOW = 20


def load_sunspots() -> np.ndarray:
    with resources.files("rnnkit.datasets").joinpath("sunspots.csv").open() as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["sunspots"]) for r in rows], dtype=np.float32)


class SeedModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm1 = rnn.LSTM(1, 64, batch_first=True)
        self.lstm2 = rnn.LSTM(64, 32, batch_first=True)
        self.dense = nn.Linear(32, 1)

    def forward(self, x):  # x (B, T, 1)
        h, _ = self.lstm1(x)  # (B, T, 64)
        _, (h_n, _) = self.lstm2(h)  # h_n (1, B, 32)
        return self.dense(h_n[-1])  # (B, 1)


def main(epochs: int = 30) -> None:
    torch.manual_seed(0)
    series = load_sunspots()
    split = int(len(series) * 0.8)
    mean, std = series[:split].mean(), series[:split].std()  # fitted on train only
    z = (series - mean) / std
    X = np.stack([z[i:i + WINDOW] for i in range(len(z) - WINDOW)])[..., None]  # (N, T, 1)
    y = z[WINDOW:, None]  # (N, 1)
    n_train = split - WINDOW
    Xtr, ytr = torch.from_numpy(X[:n_train]), torch.from_numpy(y[:n_train])
    Xte, yte = torch.from_numpy(X[n_train:]), torch.from_numpy(y[n_train:])
    model = SeedModel()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    print(f"rnnkit demo: the seed's LSTM model on yearly sunspots 1700-2008 "
          f"({len(Xtr)} train / {len(Xte)} test windows of {WINDOW} years)")
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(Xtr))
        total = 0.0
        for i in range(0, len(Xtr), 32):
            idx = perm[i:i + 32]
            loss = nn.functional.mse_loss(model(Xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch == 1 or epoch % 5 == 0:
            model.eval()
            with torch.no_grad():
                test = nn.functional.mse_loss(model(Xte), yte).item()
            print(f"epoch {epoch:3d}  train mse {total / len(Xtr):.4f}  test mse {test:.4f}  "
                  f"({time.perf_counter() - t0:.2f} s)")
    persistence = float(((Xte[:, -1, :] - yte) ** 2).mean())
    print(f"persistence baseline test mse {persistence:.4f} (standardised units)")
    print(model.lstm1.kernel_report())


if __name__ == "__main__":
    main()
