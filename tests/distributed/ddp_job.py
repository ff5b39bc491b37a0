"""A plain training script, as a user writes it: run alone or under torchrun.

Not a test module (no ``test_`` prefix); tests/distributed/test_strategy.py
starts it. It writes its results (weights, history) to ``--out`` with the rank
in the file names, and its callbacks' files to ``--out/files`` also named by
rank, so a test sees which ranks wrote what.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--n", type=int, default=41)
    p.add_argument("--backup", default=None)
    p.add_argument("--crash-after-epoch", type=int, default=-1)
    p.add_argument("--lazy", action="store_true", help="windows of a memory-mapped .npy")
    p.add_argument("--tbptt", type=int, default=None)
    a = p.parse_args()
    torch.set_num_threads(1)

    from rnnkit.callbacks import BackupAndRestore, Callback, CSVLogger, ModelCheckpoint
    from rnnkit.layers import LSTM, Dense
    from rnnkit.models import Sequential
    from rnnkit.optimizers import SGD
    from rnnkit.seed import set_random_seed

    rank = os.environ.get("RANK", "solo")

    class Crash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == a.crash_after_epoch:
                sys.stdout.flush()
                os._exit(3)  # a killed process: no cleanup, no train_end

    set_random_seed(7)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(a.n, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1, keepdims=True) * 0.3 - X[:, -1, 1:2]).astype("float32")
    model = Sequential([LSTM(8, input_shape=(6, 2)), Dense(1)])
    # plain SGD: unlike Adam, it would show a wrongly scaled gradient
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.9), loss="mse", metrics=["mae"])
    files = os.path.join(a.out, "files")
    os.makedirs(files, exist_ok=True)
    cbs = []
    if a.backup:
        cbs.append(BackupAndRestore(a.backup))
    cbs += [CSVLogger(os.path.join(files, f"log-{rank}.csv")),
            ModelCheckpoint(os.path.join(files, f"ckpt-{rank}.rnnkit"), monitor="loss"),
            Crash()]
    data = (X, y)
    if a.lazy:
        from rnnkit.data.lazy import WindowDataset

        series = rng.normal(size=(a.n + 6, 2)).astype("float32")
        np.save(os.path.join(a.out, f"series-{rank}.npy"), series)
        data = (WindowDataset(os.path.join(a.out, f"series-{rank}.npy"), window=6,
                              targets=[0]), None)
    hist = model.fit(*data, epochs=a.epochs, batch_size=a.batch_size, shuffle=True,
                     callbacks=cbs, verbose=0, tbptt=a.tbptt)
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(a.out, f"weights-{rank}.safetensors"))
    with open(os.path.join(a.out, f"history-{rank}.json"), "w") as fh:
        json.dump({"history": hist.history, "epoch": hist.epoch,
                   "threads": torch.get_num_threads()}, fh)
    return 0


if __name__ == "__main__":
    code = main()
    # Known issue (README, "Outgrowing one process"): after all of its work, a 2-rank gloo
    # job on this machine sometimes aborts in the interpreter's teardown ("terminate called
    # without an active exception"), even with the process group destroyed at exit. What is
    # tested here is the work, so the job leaves without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
