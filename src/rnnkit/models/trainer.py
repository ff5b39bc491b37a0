"""The one training loop: a :class:`Trainer` per model runs fit / evaluate / predict.

Every model (``Sequential``, the functional ``Model``, ``Seq2Seq``, a user's
subclass) holds one Trainer, ``model.trainer``. The Trainer owns the loop:
batching and shuffling, moving batches to the model's device and dtype, the
callbacks, the progress output, the thread policy and the checks that stop
silent NaN training. Per batch it calls the model's hook::

    logs = model.train_step(batch)   # Keras 3's Model.train_step; default: Trainer.train_step
    logs = model.test_step(batch)    # evaluate and validation;   default: Trainer.test_step
    y    = model.predict_step(batch) # predict;                  default: Trainer.predict_step

``batch`` is a :class:`~rnnkit.models.steps.Batch`: Keras's ``(x, y)`` or
``(x, y, sample_weight)`` tuple, plus ``batch.mask``, the (B, T) padding mask of
variable-length input. The default steps are in :mod:`rnnkit.models.steps`.
The epoch's ``loss`` is the batch-size-weighted mean of the batch losses
(``trainer.train_loss``), as Keras reports it. A step returns the running logs
of the epoch; the last one is the epoch's.

Three named seams, each already built elsewhere, plug in here:

- ``trainer.strategy`` -- data parallelism (:mod:`rnnkit.distributed.strategy`):
  shards the data, wraps the forward, reduces loss and metrics, syncs ranks;
- ``trainer.precision`` -- mixed precision (:mod:`rnnkit.mixed_precision`):
  autocast, float32 loss, loss scaling;
- ``trainer.tbptt`` -- truncated BPTT (:mod:`rnnkit.training.tbptt`): the
  window length k, the default step then steps once per window.

Callbacks reach the loop through ``callback.trainer`` (= ``model.trainer``):
``epoch``, ``step``, ``stop_training`` (``model.stop_training`` is the same
flag), ``history``, and ``state_dict()`` / ``load_state_dict()`` for exact
resume (:class:`rnnkit.callbacks.BackupAndRestore` uses only these).
"""
from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional

import torch
from torch import Tensor

from rnnkit.distributed.strategy import SingleProcess, get_strategy
from rnnkit.kernels.threads import for_model as thread_policy
from rnnkit.layers.constraints import has_constraints
from rnnkit.mixed_precision import TrainingPrecision
from rnnkit.models import steps
from rnnkit.models.compile import NotCompiledError
from rnnkit.models.steps import Batch, RunningMean
from rnnkit.training.trainer_state import check_state
from rnnkit.training import tbptt as _tbptt
from rnnkit.training.callbacks import CallbackList, History, TerminateOnNaN
from rnnkit.training.progress import ProgbarLogger

__all__ = ["Batch", "RunningMean", "Trainer", "NotCompiledError"]


class Trainer:
    """The loop behind a model's fit / evaluate / predict (see the module docstring).

    Public state, for callbacks and tools: ``model``, ``epoch`` (the epoch running,
    0-based), ``step`` (the batch in it), ``stop_training``, ``history`` (the
    :class:`History` of the current or last fit), ``shuffle_generator``, the seams
    ``strategy`` / ``precision`` / ``tbptt`` (with ``carry``, the recurrent state
    carried between windows, while tbptt runs), ``constrained`` (the model has
    weight constraints to apply after each update), ``train_loss`` / ``test_loss``
    (the running mean loss), and :meth:`state_dict`.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.epoch: Optional[int] = None
        self.step: Optional[int] = None
        self.stop_training = False
        self.history: Optional[History] = None
        self.shuffle_generator: Optional[torch.Generator] = None
        self.strategy = None  # seam: data parallelism, set for the length of a fit
        self.precision: Optional[TrainingPrecision] = None  # seam: mixed precision
        self.tbptt: Optional[int] = None  # seam: truncated BPTT window (time steps)
        self.train_loss, self.test_loss = RunningMean(), RunningMean()
        self._next_epoch = 0  # the epoch a resume would run next
        self._finishing: Optional[tuple[int, dict]] = None  # (epoch, logs) in on_epoch_end
        self._restored: Optional[tuple[dict, list]] = None  # history from load_state_dict
        self._pending: Optional[dict] = None  # a state loaded outside fit
        self._in_fit = False
        self.carry = None
        self.constrained = False
        self._terminate_on_nan = False

    # --- device and dtype ---------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.model._device_and_dtype()[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.model._device_and_dtype()[1]

    def to_device(self, batch) -> Batch:
        """(x, y, w, m) from the data -> a :class:`Batch` on the model's device: floating
        x and y in the model's dtype, an input the model reads as integer ids (Embedding,
        ``Input(dtype="int32")``) kept as it is; x is a tuple for several inputs."""
        x, y, w, m = batch
        dev, dtype = self.model._device_and_dtype()
        ints = self.model._integer_inputs()

        def inp(t, is_int: bool):
            return t.to(dev) if is_int and not torch.is_floating_point(t) else t.to(dev, dtype)

        def target(t):
            if t is None:
                return None
            return t.to(dev, dtype) if torch.is_floating_point(t) else t.to(dev)

        if isinstance(x, tuple):
            x = tuple(inp(t, i) for t, i in zip(x, ints))
            y = None if y is None else tuple(target(t) for t in y)
            m = None if m is None else tuple(None if t is None else t.to(dev) for t in m)
        else:
            x, y = inp(x, ints[0]), target(y)
            m = None if m is None else m.to(dev)
        return Batch(x, y, None if w is None else w.to(dev), m)

    @property
    def forward(self):
        """The callable the default step runs the model with: ``(x, mask) -> (y, mask)``,
        from the strategy (DDP-wrapped under torchrun)."""
        return (self.strategy or SingleProcess()).forward(self.model)

    # --- fit ------------------------------------------------------------------------------
    def fit(self, train, *, epochs: int, batch_size: int, validation=None,
            validation_batch_size: Optional[int] = None, validation_freq: int = 1,
            shuffle: bool = True, initial_epoch: int = 0, callbacks=None, verbose: int = 0,
            tbptt: Optional[int] = None, seed: Optional[int] = None) -> History:
        """Run the epochs on data already checked by the model's ``fit``: ``train`` (and
        ``validation``) have ``batches(batch_size, shuffle, generator)`` yielding
        (x, y, sample_weight, mask) and ``steps(batch_size)``. ``seed`` seeds the shuffle
        generator (default: a draw from torch's global RNG, so ``set_random_seed`` makes
        it repeatable). Returns the :class:`History`, also kept as ``model.history``."""
        model = self.model
        strategy = self.strategy = get_strategy()  # under torchrun: this rank's share
        train = strategy.shard(train, batch_size)
        callbacks = strategy.callbacks(callbacks)
        self.precision = TrainingPrecision(self.device)  # float16's loss scale spans epochs
        self.tbptt = tbptt
        self.constrained = has_constraints(model)
        self.shuffle_generator = torch.Generator()
        pending, self._pending = self._pending, None  # load_state_dict before this fit
        if pending is None or pending["shuffle_generator"] is None:
            # a loaded generator replaces this draw, which would move torch's global RNG
            self.shuffle_generator.manual_seed(
                int(torch.randint(0, 2 ** 62, (1,)).item()) if seed is None else int(seed))
        history = self.history = History()
        progbar = ProgbarLogger(verbose) if verbose and strategy.writes_files else None
        cbs = CallbackList(callbacks, model=model, history=history, progbar=progbar,
                           params={"epochs": epochs, "steps": train.steps(batch_size),
                                   "verbose": verbose, "mode": "fit"})
        self._terminate_on_nan = cbs.has(TerminateOnNaN)
        self.stop_training = False
        self.epoch = self.step = None
        self._next_epoch, self._restored, self._in_fit = initial_epoch, None, True
        if pending is not None:
            self._apply(pending)
        was_training = model.training
        logs: dict = {}
        threads = thread_policy(model, batch_size, training=True, verbose=verbose)
        try:
            cbs.on_train_begin()  # BackupAndRestore: load_state_dict here
            strategy.sync(model)  # every rank starts from rank 0's (possibly restored) state
            start = max(initial_epoch, self._next_epoch)
            if self._restored is not None:
                history.history = {k: list(v) for k, v in self._restored[0].items()}
                history.epoch = list(self._restored[1])
                self._restored = None
            threads.start()  # torch's thread count for the loop, restored below
            for epoch in range(start, epochs):
                self.epoch = epoch
                for m in model.compiled_metrics:
                    m.reset_state()
                cbs.on_epoch_begin(epoch)
                logs = self._train_epoch(train, batch_size, shuffle, cbs, epoch)
                if validation is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_data(validation,
                                                   validation_batch_size or batch_size)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                self._next_epoch, self._finishing = epoch + 1, (epoch, logs)
                cbs.on_epoch_end(epoch, logs)
                self._finishing = None
                if strategy.any_stop(self.stop_training):
                    break
            cbs.on_train_end(logs)
        finally:
            threads.close()
            model.train(was_training)
            self.strategy = self.precision = None
            self._finishing, self._in_fit = None, False
        model.history = history
        return history

    def _train_epoch(self, data, batch_size: int, shuffle: bool, cbs, epoch: int) -> dict:
        model = self.model
        model.train()
        self.train_loss.reset()
        with (_tbptt.carried_state(model) if self.tbptt else nullcontext()) as carry:
            self.carry = carry
            try:
                logs = self._train_batches(data, batch_size, shuffle, cbs, epoch)
            finally:
                self.carry = None
        # A finite loss is computed before its step: the epoch's last step can still leave
        # NaN/inf weights, which no later loss would reveal (no silent NaN training).
        bad = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
        if bad:
            raise FloatingPointError(
                f"training diverged: after epoch {epoch + 1} the weights {bad[:3]} hold NaN or "
                f"inf although the losses were finite. {self._advice()}")
        return dict(logs)

    def _train_batches(self, data, batch_size, shuffle, cbs, epoch) -> dict:
        strategy, logs, steps = self.strategy, {}, 0
        for step, batch in enumerate(data.batches(batch_size, shuffle, self.shuffle_generator)):
            steps += 1
            self.step = step
            cbs.on_train_batch_begin(step)
            step_logs = _as_logs(self.model.train_step(self.to_device(batch)), "train_step")
            value = step_logs.get("loss")
            if value is not None and not math.isfinite(value):
                if not self._terminate_on_nan:
                    raise FloatingPointError(
                        f"training diverged: the loss is {value} at epoch {epoch + 1}, batch "
                        f"{step}. {self._advice()}; pass callbacks=[TerminateOnNaN()] to stop "
                        "without an error")
                logs = {"loss": value}  # the bad step is not applied
                cbs.on_train_batch_end(step, logs)
                break
            logs = step_logs
            cbs.on_train_batch_end(step, logs)
            if strategy.any_stop(self.stop_training):
                self.stop_training = True
                break
        if steps == 0:
            raise ValueError(f"`x` yielded no batches in epoch {epoch + 1}; a one-shot "
                             "iterator is used up after one epoch, pass a DataLoader or a "
                             "re-iterable object")
        return logs

    def _advice(self) -> str:
        lr = getattr(self.model.optimizer, "learning_rate", None)
        now = "" if lr is None else f" (now {lr:g})"
        return (f"Lower the learning rate{now}, add clipnorm to the optimizer, or scale the "
                "data")

    # --- the default steps ----------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict:
        """The default ``model.train_step`` (:func:`rnnkit.models.steps.train_step`)."""
        return steps.train_step(self, batch)

    def test_step(self, batch: Batch) -> dict:
        """The default ``model.test_step`` (:func:`rnnkit.models.steps.test_step`)."""
        return steps.test_step(self, batch)

    def predict_step(self, batch: Batch):
        """The default ``model.predict_step``: the model's outputs for ``batch.x``."""
        return steps.predict_step(self, batch)

    # --- evaluate / predict ------------------------------------------------------------------
    @contextmanager
    def inference(self) -> Iterator[None]:
        """Eval mode (dropout off) without gradients; the previous mode comes back."""
        model = self.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            model.train(was_training)

    def _evaluate_data(self, data, batch_size: int, cbs: Optional[CallbackList] = None) -> dict:
        for m in self.model.compiled_metrics:
            m.reset_state()
        self.test_loss.reset()
        logs: dict = {}
        # validation inside fit keeps fit's policy; evaluate makes one for this call
        outer, self.precision = self.precision, TrainingPrecision(self.device)
        try:
            with self.inference():
                for step, batch in enumerate(data.batches(batch_size)):
                    if cbs:
                        cbs.on_test_batch_begin(step)
                    logs = _as_logs(self.model.test_step(self.to_device(batch)), "test_step")
                    if cbs:
                        cbs.on_test_batch_end(step, logs)
        finally:
            self.precision = outer
        return logs

    def evaluate(self, data, *, batch_size: int, callbacks=None, verbose: int = 0) -> dict:
        """The logs (loss, metrics) of ``model.test_step`` over ``data``."""
        cbs = CallbackList(callbacks, model=self.model,
                           progbar=ProgbarLogger(verbose) if verbose else None,
                           params={"steps": data.steps(batch_size), "verbose": verbose,
                                   "mode": "evaluate"})
        cbs.on_test_begin()
        with thread_policy(self.model, batch_size, training=False):
            logs = self._evaluate_data(data, batch_size, cbs)
        cbs.on_test_end(logs)
        return logs

    def predict(self, data, *, batch_size: int, callbacks=None, verbose: int = 0) -> list:
        """``model.predict_step``'s outputs per batch, as numpy (``model._to_numpy``)."""
        model = self.model
        cbs = CallbackList(callbacks, model=model,
                           progbar=ProgbarLogger(verbose) if verbose else None,
                           params={"steps": data.steps(batch_size), "verbose": verbose,
                                   "mode": "predict"})
        cbs.on_predict_begin()
        outs = []
        with self.inference(), thread_policy(model, batch_size, training=False):
            for step, batch in enumerate(data.batches(batch_size)):
                cbs.on_predict_batch_begin(step)
                outs.append(model._to_numpy(model.predict_step(self.to_device(batch))))
                cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end()
        return outs

    # --- exact resume ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The loop's state at the last epoch boundary, for an exact resume:
        ``{"epoch": the next epoch to run, "history": {key: [float per epoch]},
        "epochs": [epoch indices], "shuffle_generator": uint8 tensor or None}``.
        Inside ``on_epoch_end(epoch)`` that epoch counts as finished. The model's
        weights, the optimizer and the RNGs are not in it (BackupAndRestore saves them)."""
        if self._restored is not None:
            hist, epochs = {k: list(v) for k, v in self._restored[0].items()}, \
                list(self._restored[1])
        else:
            h = self.history
            hist = {k: [float(v) for v in vs] for k, vs in (h.history if h else {}).items()}
            epochs = list(h.epoch) if h else []
            if self._finishing is not None and (not epochs or epochs[-1] != self._finishing[0]):
                epoch, logs = self._finishing  # History (the last callback) hasn't run yet
                epochs.append(epoch)
                for k, v in logs.items():
                    hist.setdefault(k, []).append(float(v))
        gen = self.shuffle_generator
        return {"epoch": self._next_epoch, "history": hist, "epochs": epochs,
                "shuffle_generator": None if gen is None else gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` (a :meth:`state_dict`): inside ``fit`` (e.g. from a
        callback's ``on_train_begin``) the run continues with ``state["epoch"]`` and its
        history; outside, the next ``fit`` does."""
        state = check_state(state)
        if self._in_fit:
            self._apply(state)
        else:
            self._pending = state

    def _apply(self, state: dict) -> None:
        self._next_epoch = state["epoch"]
        self._restored = (state["history"], state["epochs"])
        if state["shuffle_generator"] is not None:
            self.shuffle_generator.set_state(state["shuffle_generator"])


def _as_logs(logs, hook: str) -> dict:
    """A step's logs as {name: float}; Keras's steps may return tensors."""
    if not isinstance(logs, dict):
        raise TypeError(f"`{hook}` must return a dict of logs such as {{'loss': value}}, got "
                        f"{type(logs).__name__}")
    return {k: float(v.detach()) if isinstance(v, Tensor) else v for k, v in logs.items()}
