"""BackupAndRestore: resume an interrupted ``fit`` exactly where it stopped.

At the end of every epoch the callback writes ONE file,
``<backup_dir>/latest.safetensors`` (atomically), holding

- the model's ``state_dict`` and the optimizer's state (tensors in
  safetensors, structure in JSON: :mod:`rnnkit.training.state`);
- the states of Python's, numpy's and torch's global RNGs (dropout draws from
  torch's), of ``fit``'s own shuffle generator, and of every seeded layer's
  private generator (``Dropout(rate, seed=)``, ``LSTM(..., dropout=, seed=)``:
  their dropout, recurrent dropout and zoneout masks);
- a sha256 checksum of all of it: a damaged backup (a flipped bit) is refused
  with :class:`rnnkit.InvalidModelFile` instead of resuming from wrong values;
- the epoch just finished and the history so far.

The loop's part (next epoch, history, shuffle generator) comes from and goes
back to the trainer's public ``state_dict()`` / ``load_state_dict()``
(``self.trainer``, :class:`rnnkit.callbacks.Callback`); the callback touches
nothing private of the model or the loop.

When ``fit`` starts again with the same call and the file exists, everything
is restored in ``on_train_begin`` and training continues with the next epoch,
so the final weights are bit-identical to those of an uninterrupted run with the
same seed, whether the process died mid-epoch, while writing the backup (the
previous backup is intact: writes are atomic, and the next write removes the
dead process's temporary file) or after the last epoch. When training ends normally the file is deleted
(``delete_checkpoint=True``, as Keras).

Not restored (as in Keras): the internal counters of other callbacks
(EarlyStopping's patience, ReduceLROnPlateau's wait).
"""
from __future__ import annotations

import json
import os
from typing import Optional

import torch

from rnnkit.errors import InvalidModelFile, invalid_file
from rnnkit.util.atomic import remove_stale_temps
from rnnkit.training.callback_base import Callback
from rnnkit.training.optimizers import check_optimizer_state
from rnnkit.training.safefile import (DEFAULT_MAX_PARAMS, check_weights_fit, exact_weights,
                                      max_bytes_for, model_weights)
from rnnkit.training.trainer_state import check_state
from rnnkit.training.state import (capture_rng, json_field, pack, read_state_file,
                                   restore_rng, unpack, write_state_file)

__all__ = ["BackupAndRestore"]

FORMAT = "rnnkit-backup"
FILENAME = "latest.safetensors"
SHUFFLE = "trainer/shuffle_generator"  # the trainer's state_dict()["shuffle_generator"]
_OLD_SHUFFLE = "rng/gen/shuffle"  # where backups written before the Trainer kept it


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
        self.restored_epoch = None  # the epoch the last restore resumed after

    def _generators(self, create: Optional[dict] = None) -> dict:
        """Every generator training draws from besides the global ones and the trainer's
        shuffle generator: each seeded layer's private one (Dropout(seed=), LSTM(seed=)).
        ``create`` {key: device} makes the lazily created ones that a backup holds."""
        gens = {}
        for name, module in self.model.named_modules():
            if getattr(module, "seed", None) is None or not hasattr(module, "_generator"):
                continue
            key = f"layer/{name}"
            if module._generator is None and create and key in create:
                module._generator = torch.Generator(device=create[key]).manual_seed(module.seed)
            if isinstance(module._generator, torch.Generator):
                gens[key] = module._generator
        return gens

    def _model_config(self) -> str:
        return json.dumps(self.model.get_config(), sort_keys=True)

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        remove_stale_temps(self.path)
        if not os.path.lexists(self.path):
            return
        what = "an rnnkit BackupAndRestore file"
        params = sum(p.numel() for p in self.model.parameters())
        header, tensors = read_state_file(self.path, FORMAT, what, require_checksum=True,
                                          max_bytes=max_bytes_for(max(DEFAULT_MAX_PARAMS, params)))
        meta = {k: json_field(header, k, self.path, what)
                for k in ("epoch", "optimizer", "rng", "history", "epochs", "devices")}
        if header.get("model_config") != self._model_config():
            raise InvalidModelFile(self.path, "the backup was written for a different model "
                                              "architecture; delete it or use another `backup_dir`")
        weights = model_weights(tensors)
        own = self.model.state_dict()
        check_weights_fit(own, weights, self.path)
        weights = exact_weights(own, weights, self.path)
        with invalid_file(self.path, "its training state is damaged"):
            epoch = meta["epoch"]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise ValueError(f"`epoch` must be an int >= 0, got {epoch!r}")
            opt_state = meta.get("optimizer")
            opt_state = None if opt_state is None else unpack(opt_state, tensors)
            if opt_state is not None:
                self.model.optimizer._need_torch("restore")
                check_optimizer_state(self.model.optimizer.torch, opt_state)
            # the loop's part, for the trainer's public load_state_dict: the next epoch
            loop = check_state({"epoch": epoch + 1, "history": meta["history"],
                                "epochs": meta["epochs"],
                                "shuffle_generator": tensors.get(SHUFFLE,
                                                                 tensors.get(_OLD_SHUFFLE))})
            devices = {str(k): torch.device(v) for k, v in dict(meta["devices"]).items()}
            # Everything checked: now change the model, its optimizer, the generators, the loop.
            self.model.load_state_dict(weights, strict=True)
            if opt_state is not None:
                self.model.optimizer.load_state_dict(opt_state)
            restore_rng(meta["rng"], tensors, self._generators(create=devices))
            self.trainer.load_state_dict(loop)
        self.restored_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        loop = self.trainer.state_dict()  # this epoch counts as finished
        tensors = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        opt = getattr(self.model, "optimizer", None)
        opt_tree = pack(opt.state_dict(), "optimizer", tensors) if opt is not None else None
        gens = self._generators()
        rng_tree, rng_tensors = capture_rng(gens)
        tensors.update(rng_tensors)
        if loop["shuffle_generator"] is not None:
            tensors[SHUFFLE] = loop["shuffle_generator"]
        os.makedirs(self.backup_dir, exist_ok=True)
        header = {k: json.dumps(v) for k, v in (
            ("epoch", loop["epoch"] - 1), ("optimizer", opt_tree), ("rng", rng_tree),
            ("history", loop["history"]), ("epochs", loop["epochs"]),
            ("devices", {k: str(g.device) for k, g in gens.items()}))}
        header["model_config"] = self._model_config()
        write_state_file(self.path, tensors, FORMAT, header)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)  # only when empty; other files are the user's
            except OSError:
                pass
