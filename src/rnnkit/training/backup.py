"""BackupAndRestore: resume an interrupted ``fit`` exactly where it stopped.

At the end of every epoch the callback writes ONE file,
``<backup_dir>/latest.safetensors`` (atomically), holding

- the model's ``state_dict`` and the optimizer's state (tensors in
  safetensors, structure in JSON: :mod:`rnnkit.training.state`);
- the states of Python's, numpy's and torch's global RNGs (dropout draws from
  torch's) and of ``fit``'s own shuffle generator;
- the epoch just finished and the history so far.

When ``fit`` starts again with the same call and the file exists, everything
is restored in ``on_train_begin`` and training continues with the next epoch,
so the final weights are bit-identical to those of an uninterrupted run with the
same seed. When training ends normally the file is deleted
(``delete_checkpoint=True``, as Keras).

Not restored (as in Keras): the internal counters of other callbacks
(EarlyStopping's patience, ReduceLROnPlateau's wait).
"""
from __future__ import annotations

import json
import os

from rnnkit.training.callback_base import Callback
from rnnkit.training.state import (capture_rng, json_field, pack, read_state_file,
                                   restore_rng, unpack, write_state_file)

__all__ = ["BackupAndRestore"]

FORMAT = "rnnkit-backup"
FILENAME = "latest.safetensors"


class BackupAndRestore(Callback):
    """Args:
        backup_dir: folder for the backup file (created if missing). Use one folder
            per training run.
        save_freq: "epoch" (the only supported value: resuming mid-epoch would need
            the data order inside the epoch).
        delete_checkpoint: delete the backup when training ends normally (default True).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(f"`backup_dir` must be a folder path, got {backup_dir!r}")
        if save_freq != "epoch":
            raise ValueError(f"`save_freq` must be 'epoch', got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.path = os.path.join(self.backup_dir, FILENAME)
        self._history: dict[str, list] = {}
        self._epochs: list[int] = []
        self.restored_epoch = None  # the epoch the last restore resumed after

    def _generators(self) -> dict:
        gen = getattr(self.model, "_shuffle_generator", None)
        return {"shuffle": gen} if gen is not None else {}

    def _model_config(self) -> str:
        return json.dumps(self.model.get_config(), sort_keys=True)

    def on_train_begin(self, logs=None):
        self._history, self._epochs, self.restored_epoch = {}, [], None
        if not os.path.exists(self.path):
            return
        what = "an rnnkit BackupAndRestore file"
        header, tensors = read_state_file(self.path, FORMAT, what)
        meta = {k: json_field(header, k, self.path, what)
                for k in ("epoch", "optimizer", "rng", "history", "epochs")}
        if header.get("model_config") != self._model_config():
            raise ValueError(f"the backup {self.path!r} was written for a different model "
                             f"architecture; delete it or use another `backup_dir`")
        weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
        try:
            self.model.load_state_dict(weights, strict=True)
        except RuntimeError as e:
            raise ValueError(f"the backup {self.path!r} doesn't fit this model: {e}") from None
        opt_state = meta.get("optimizer")
        if opt_state is not None:
            try:
                self.model.optimizer.load_state_dict(unpack(opt_state, tensors))
            except (ValueError, KeyError, RuntimeError) as e:
                raise ValueError(f"the backup {self.path!r} holds the state of another "
                                 f"optimizer: {e}") from None
        restore_rng(meta["rng"], tensors, self._generators())
        self._history = meta.get("history", {})
        self._epochs = list(meta.get("epochs", []))
        self.restored_epoch = int(meta["epoch"])
        # fit() reads this after on_train_begin: continue with the next epoch.
        self.model._resume = {"epoch": self.restored_epoch + 1, "history": self._history,
                              "epochs": self._epochs}

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self._history.setdefault(k, []).append(float(v))
        self._epochs.append(epoch)
        tensors = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        opt = getattr(self.model, "optimizer", None)
        opt_tree = pack(opt.state_dict(), "optimizer", tensors) if opt is not None else None
        rng_tree, rng_tensors = capture_rng(self._generators())
        tensors.update(rng_tensors)
        os.makedirs(self.backup_dir, exist_ok=True)
        header = {k: json.dumps(v) for k, v in (
            ("epoch", epoch), ("optimizer", opt_tree), ("rng", rng_tree),
            ("history", self._history), ("epochs", self._epochs))}
        header["model_config"] = self._model_config()
        write_state_file(self.path, tensors, FORMAT, header)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)  # only when empty; other files are the user's
            except OSError:
                pass
