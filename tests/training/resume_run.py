"""One training run for the resume matrix (tests/training/test_resume_kills.py),
run as its own process so that it can die with os._exit, as a killed process does.

    python resume_run.py BACKUP_DIR OUT.npz KILL [EPOCHS [BACKEND]]

KILL is where the process dies (exit status 3), or "none":
    mid:E:B    after batch B of epoch E (mid-epoch)
    write:K    inside the K-th backup write: the temporary file is complete, the
               rename has not happened (os.replace is where it dies)
    end        after the last epoch's backup, before on_train_end deletes it
Without a kill it saves the final weights and the loss history to OUT.npz.
BACKEND is the recurrent layers' kernel (default "reference": no native build
in every process; the slow soak runs "auto").
"""
import os
import sys

import numpy as np
import torch

from rnnkit.callbacks import BackupAndRestore, Callback
from rnnkit.layers import GRU, LSTM, Dense, Dropout
from rnnkit.models import Sequential
from rnnkit.seed import set_random_seed


class Kill(Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            os._exit(3)


def main(backup_dir, out, kill, epochs=4, backend="reference"):
    torch.set_num_threads(1)
    set_random_seed(11)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2)).astype(np.float32)
    y = X[:, -3:, 0].sum(axis=1, keepdims=True).astype(np.float32)
    model = Sequential([
        # seeded input dropout and recurrent dropout: the layer's private generator
        LSTM(8, dropout=0.2, recurrent_dropout=0.2, seed=7, return_sequences=True,
             input_shape=(6, 2), backend=backend),
        Dropout(0.3, seed=3),
        GRU(6, zoneout=0.15, seed=5, backend=backend),
        Dropout(0.1),  # unseeded: torch's global generator
        Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    callbacks = [BackupAndRestore(backup_dir)]
    if kill.startswith("mid:"):
        _, e, b = kill.split(":")
        callbacks.append(Kill(int(e), int(b)))
    elif kill.startswith("write:"):
        target, calls, real_replace = int(kill.split(":")[1]), [0], os.replace

        def replace(src, dst, *a, **k):
            if str(dst).endswith("latest.safetensors"):
                calls[0] += 1
                if calls[0] == target:
                    os._exit(3)
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    elif kill == "end":
        BackupAndRestore.on_train_end = lambda self, logs=None: os._exit(3)
    elif kill != "none":
        raise SystemExit(f"unknown KILL {kill!r}")
    hist = model.fit(X, y, epochs=epochs, batch_size=8, callbacks=callbacks, verbose=0)
    np.savez(out, loss=np.asarray(hist.history["loss"]), epochs=np.asarray(hist.epoch),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *[int(a) if a.isdigit() else a
                                                  for a in sys.argv[4:]])
