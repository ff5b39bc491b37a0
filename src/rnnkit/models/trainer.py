"""fit / evaluate / predict for :class:`rnnkit.models.Sequential`
(Keras 3's semantics, on a plain torch loop).

One training step on a batch (x, y, w, m) -- w sample weights, m the (B, T)
padding mask of variable-length input::

    y_pred, m_out = model(x, m)            # masks flow layer to layer
    loss = loss_fn(y, y_pred, w, m_out)    # masked steps don't count
    stop if loss is NaN/inf                # FloatingPointError, or TerminateOnNaN
    loss.backward(); optimizer.step()      # Keras's update rules, clipping, decay

The epoch's ``loss`` is the batch-size-weighted mean of the batch losses, as
Keras reports it; metrics accumulate over the epoch. Validation runs in eval
mode without gradients after each epoch (``val_`` keys). Shuffling uses a
dedicated ``torch.Generator`` (``model._shuffle_generator``) seeded from torch's
global RNG, so ``set_random_seed`` makes it repeatable and BackupAndRestore can
save and restore it.
"""
from __future__ import annotations

import math
import numbers
from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.distributed.strategy import SingleProcess, get_strategy
from rnnkit.kernels.threads import for_model as thread_policy
from rnnkit.layers.constraints import apply_all as apply_constraints, has_constraints
from rnnkit.layers.regularizers import clear_activity, has_penalties, total_penalty
from rnnkit.mixed_precision import TrainingPrecision
from rnnkit.models.compile import CompileMixin, NotCompiledError
from rnnkit.models.data_adapter import ArrayData, BatchStream, adapt
from rnnkit.training import tbptt as _tbptt
from rnnkit.util import checks
from rnnkit.training.callbacks import CallbackList, History, TerminateOnNaN
from rnnkit.training.tbptt import check_tbptt
from rnnkit.training.progress import ProgbarLogger, resolve_verbose

__all__ = ["TrainingMixin", "NotCompiledError"]


def _check_int(name: str, value, minimum: int) -> int:
    return checks.integer(value, name, minimum=minimum)


class TrainingMixin(CompileMixin):
    """Keras's compile / fit / evaluate / predict; mixed into Sequential (which
    provides build, check_input_shape and _forward_with_mask)."""

    # --- plumbing ---------------------------------------------------------------------------
    def _prepare(self, data, batch_size: Optional[int], for_training: bool = False):
        """Build the model from the data if needed; check the data's shape against it."""
        if isinstance(data, ArrayData):
            shape = data.sample_shape
        else:
            shape = tuple(data.peek()[0].shape[1:])
        arg = data.arg if isinstance(data, BatchStream) else "x"
        if not self.built:
            self._build_sample_shape(shape)
            self._shape_from_data = True
        self.check_input_shape(shape, arg)
        if for_training:
            self._build_optimizer()

    def _batch_to_device(self, batch):
        x, y, w, m = batch
        dev, dtype = self._device_and_dtype()
        if torch.is_floating_point(x) or not self._wants_integer_input():
            x = x.to(dev, dtype)
        else:
            x = x.to(dev)
        move = (lambda t: None if t is None else t.to(dev))
        y = None if y is None else (y.to(dev, dtype) if torch.is_floating_point(y) else y.to(dev))
        return x, y, move(w), move(m)

    def _iter_batches(self, data, batch_size, shuffle=False, generator=None):
        return data.batches(batch_size, shuffle, generator)

    def _steps(self, data, batch_size) -> Optional[int]:
        return data.steps(batch_size)

    def _compute_loss(self, y, y_pred, w, m_out) -> Tensor:
        return self._add_penalties(self.loss(y, y_pred, sample_weight=w, mask=m_out))

    def _clear_activity(self) -> None:
        if not getattr(self, "_penalty_free", False):
            clear_activity(self)

    def _add_penalties(self, loss: Tensor) -> Tensor:
        """Keras adds the layers' weight regularizers to the loss it trains on and
        reports, in fit and evaluate alike."""
        if getattr(self, "_penalty_free", None) is None:
            self._penalty_free = not has_penalties(self)
        if self._penalty_free:
            return loss
        penalty = total_penalty(self)
        return loss if penalty is None else loss + penalty

    def _batch_len(self, x) -> int:
        return int(x.shape[0])

    def _adapt(self, x, y=None, sample_weight=None, class_weight=None, *, prefix: str = "",
               need_y: bool = True):
        return adapt(x, y, sample_weight, class_weight, prefix=prefix, need_y=need_y)

    def _update_metrics(self, y, y_pred, w, m_out) -> None:
        for metric in self.compiled_metrics:
            metric.update_state(y, y_pred, sample_weight=w, mask=m_out)

    def _metric_values(self, logs: dict) -> list:
        return [logs[m.name] for m in self.compiled_metrics]

    def _to_numpy(self, y_pred):
        return y_pred.detach().cpu().numpy()

    def _join_predictions(self, outs: list):
        return np.concatenate(outs, axis=0)

    def _logs(self, loss_total: float, count: float) -> dict:
        logs = {"loss": loss_total / count if count else float("nan")}
        logs.update({m.name: m.result() for m in self.compiled_metrics})
        return logs

    # --- fit ----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size: Optional[int] = None, epochs: int = 1,
            verbose="auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, class_weight=None, sample_weight=None,
            initial_epoch: int = 0, validation_batch_size: Optional[int] = None,
            validation_freq: int = 1, tbptt: Optional[int] = None) -> History:
        """Train for ``epochs`` epochs (Keras 3's arguments and defaults; batch_size 32).

        ``validation_split`` takes the LAST fraction of the arrays (before shuffling).
        ``tbptt=k``: truncated BPTT over windows of k time steps, the state carried
        forward detached and reset between batches (:mod:`rnnkit.training.tbptt`).
        Returns a :class:`History`; also kept as ``model.history``.
        """
        self._require_compiled("fit")
        epochs = _check_int("epochs", epochs, 0)
        initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
        validation_freq = _check_int("validation_freq", validation_freq, 1)
        verbose = resolve_verbose(verbose)
        if not isinstance(validation_split, numbers.Real) or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"`validation_split` must be a float in [0, 1), got {validation_split!r}")
        self._penalty_free = None  # layers may have changed since the last fit
        self._constrained = has_constraints(self)
        train = self._adapt(x, y, sample_weight, class_weight)
        if batch_size is not None:
            batch_size = _check_int("batch_size", batch_size, 1)
            if isinstance(train, BatchStream) and not train.batches_here:
                raise ValueError("`batch_size` must be None when `x` is a DataLoader or an "
                                 f"iterable of batches (it batches itself), got {batch_size}")
        batch_size = batch_size or 32
        val = None
        if validation_split:
            if not hasattr(train, "split"):  # ArrayData, rnnkit.data.lazy.WindowDataset
                raise ValueError("`validation_split` needs array data; with a DataLoader pass "
                                 "`validation_data` instead")
            train, val = train.split(float(validation_split))
        elif validation_data is not None:
            if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
                val = self._adapt(validation_data[0], validation_data[1],
                            validation_data[2] if len(validation_data) == 3 else None,
                            prefix="validation_data: ")
            elif isinstance(validation_data, (tuple, list)):
                raise ValueError(f"`validation_data` must be (x_val, y_val) or (x_val, y_val, "
                                 f"sample_weight), got {len(validation_data)} elements")
            else:
                val = self._adapt(validation_data, prefix="validation_data: ")
        self._prepare(train, batch_size, for_training=True)
        if tbptt is None:
            self._tbptt_k = check_tbptt(None, None)
        else:
            shape = (train.sample_shape if isinstance(train, ArrayData)
                     else tuple(train.peek()[0].shape[1:]))
            self._tbptt_k = check_tbptt(tbptt, shape[0] if shape else None)
        if val is not None:
            self._prepare(val, batch_size)
        val_bs = _check_int("validation_batch_size", validation_batch_size or batch_size, 1)
        # Under torchrun: this rank's share of each global batch (rnnkit.distributed).
        strategy = self._strategy = get_strategy()
        train = strategy.shard(train, batch_size)
        callbacks = strategy.callbacks(callbacks)
        # the mixed-precision policy (one per fit: float16's loss scale adapts across epochs)
        self._precision = TrainingPrecision(self._device_and_dtype()[0])

        self._shuffle_generator = torch.Generator()
        self._shuffle_generator.manual_seed(int(torch.randint(0, 2 ** 62, (1,)).item()))
        history = History()
        progbar = ProgbarLogger(verbose) if verbose and strategy.writes_files else None
        cbs = CallbackList(callbacks, model=self, history=history, progbar=progbar,
                           params={"epochs": epochs, "steps": self._steps(train, batch_size),
                                   "verbose": verbose, "mode": "fit"})
        terminate_on_nan = cbs.has(TerminateOnNaN)
        self.stop_training = False
        self._resume = None
        was_training = self.training
        cbs.on_train_begin()
        strategy.sync(self)  # every rank starts from rank 0's (possibly restored) state
        start = initial_epoch
        if self._resume is not None:  # set by BackupAndRestore.on_train_begin
            start = max(start, int(self._resume["epoch"]))
            history.history = {k: list(v) for k, v in self._resume["history"].items()}
            history.epoch = list(self._resume["epochs"])
        logs: dict = {}
        threads = thread_policy(self, batch_size, training=True, verbose=verbose)
        threads.start()  # torch's thread count for the loop, restored in the finally below
        try:
            for epoch in range(start, epochs):
                for m in self.compiled_metrics:
                    m.reset_state()
                cbs.on_epoch_begin(epoch)
                logs = self._train_epoch(train, batch_size, shuffle, cbs, epoch, terminate_on_nan)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_data(val, val_bs)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                if strategy.any_stop(self.stop_training):
                    break
            cbs.on_train_end(logs)
        finally:
            threads.close()
            self.train(was_training)
            self._strategy = self._precision = None
        self.history = history
        return history

    def _train_epoch(self, data, batch_size, shuffle, cbs, epoch, terminate_on_nan) -> dict:
        self.train()
        strategy = getattr(self, "_strategy", None) or SingleProcess()
        forward = strategy.forward(self)
        k = getattr(self, "_tbptt_k", None)
        with (_tbptt.carried_state(self) if k else nullcontext()) as carry:
            return self._train_batches(data, batch_size, shuffle, cbs, epoch, terminate_on_nan,
                                       strategy, forward, k, carry)

    def _train_batches(self, data, batch_size, shuffle, cbs, epoch, terminate_on_nan,
                       strategy, forward, k, carry) -> dict:
        # autocast, a float32 loss, a loss scale for float16 (rnnkit.mixed_precision)
        precision = getattr(self, "_precision", None) or \
            TrainingPrecision(self._device_and_dtype()[0])
        total = count = 0.0
        logs: dict = {}
        steps = 0
        for step, batch in enumerate(self._iter_batches(data, batch_size, shuffle,
                                                        self._shuffle_generator)):
            steps += 1
            cbs.on_train_batch_begin(step)
            x, y, w, m = self._batch_to_device(batch)
            self._clear_activity()
            if k:  # truncated BPTT: one optimizer step per window, inside
                value, n, y_pred, m_out = _tbptt.train_batch(self, forward, strategy, carry,
                                                             x, y, w, m, k, precision)
            else:
                self.optimizer.zero_grad()
                with precision.autocast():
                    y_pred, m_out = forward(x, m)
                y_pred = precision.output(y_pred)
                loss = self._compute_loss(y, y_pred, w, m_out)
                # the global batch's loss (all ranks), and this rank's share to back-propagate
                loss, value, n = strategy.step_loss(loss, self._batch_len(x))
            if not math.isfinite(value):
                if not terminate_on_nan:
                    raise FloatingPointError(
                        f"training diverged: the loss is {value} at epoch {epoch + 1}, "
                        f"batch {step}. Lower the learning rate (now "
                        f"{self.optimizer.learning_rate:g}), add clipnorm to the optimizer, or "
                        "scale the data; pass callbacks=[TerminateOnNaN()] to stop without an "
                        "error")
                logs = {"loss": value}  # the bad step is not applied
                cbs.on_train_batch_end(step, logs)
                break
            if not k:
                precision.backward(loss)
                precision.step(self.optimizer)
                if self._constrained:
                    apply_constraints(self)  # Keras: after each update
            total += value * n
            count += n
            self._update_metrics(y, y_pred, w, m_out)
            if type(strategy) is SingleProcess:  # DataParallel derives from it
                logs = self._logs(total, count)
            else:  # the global batch's metrics: (total, count) all-reduced over the ranks
                logs = {"loss": total / count}
                logs.update(strategy.metric_results(self.compiled_metrics))
            cbs.on_train_batch_end(step, logs)
            if strategy.any_stop(self.stop_training):
                self.stop_training = True
                break
        if steps == 0:
            raise ValueError(f"`x` yielded no batches in epoch {epoch + 1}; a one-shot "
                             "iterator is used up after one epoch, pass a DataLoader or a "
                             "re-iterable object")
        # A finite loss is computed before its step: the epoch's last step can still leave
        # NaN/inf weights, which no later loss would reveal (no silent NaN training).
        bad = [n for n, p in self.named_parameters() if not bool(torch.isfinite(p).all())]
        if bad:
            raise FloatingPointError(
                f"training diverged: after epoch {epoch + 1} the weights {bad[:3]} hold NaN or "
                f"inf although the losses were finite. Lower the learning rate (now "
                f"{self.optimizer.learning_rate:g}), add clipnorm to the optimizer, or scale "
                "the data")
        return dict(logs)

    # --- evaluate / predict ----------------------------------------------------------------------
    @contextmanager
    def _inference(self) -> Iterator[None]:
        """Eval mode (dropout off) without gradients; the previous mode comes back."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    def _evaluate_data(self, data, batch_size, cbs: Optional[CallbackList] = None) -> dict:
        for m in self.compiled_metrics:
            m.reset_state()
        total = count = 0.0
        logs: dict = {}
        precision = TrainingPrecision(self._device_and_dtype()[0])
        with self._inference():
            for step, batch in enumerate(self._iter_batches(data, batch_size)):
                if cbs:
                    cbs.on_test_batch_begin(step)
                x, y, w, m = self._batch_to_device(batch)
                self._clear_activity()
                with precision.autocast():
                    y_pred, m_out = self._forward_with_mask(x, m)
                y_pred = precision.output(y_pred)
                n = float(self._batch_len(x))
                total += float(self._compute_loss(y, y_pred, w, m_out)) * n
                count += n
                self._update_metrics(y, y_pred, w, m_out)
                logs = self._logs(total, count)
                if cbs:
                    cbs.on_test_batch_end(step, logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size: Optional[int] = None, verbose="auto",
                 sample_weight=None, return_dict: bool = False, callbacks=None):
        """Loss (and metrics) on the data: the loss alone when there are no metrics,
        else ``[loss, *metrics]``; a dict with ``return_dict=True``."""
        self._require_compiled("evaluate")
        verbose = resolve_verbose(verbose)
        batch_size = _check_int("batch_size", batch_size, 1) if batch_size is not None else 32
        data = self._adapt(x, y, sample_weight)
        self._prepare(data, batch_size)
        cbs = CallbackList(callbacks, model=self, progbar=ProgbarLogger(verbose) if verbose else None,
                           params={"steps": self._steps(data, batch_size), "verbose": verbose,
                                   "mode": "evaluate"})
        cbs.on_test_begin()
        with thread_policy(self, batch_size, training=False):
            logs = self._evaluate_data(data, batch_size, cbs)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs["loss"]] + self._metric_values(logs)
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: Optional[int] = None, verbose=0, callbacks=None) -> np.ndarray:
        """Outputs for ``x`` as a numpy array: batched, eval mode, no gradients.
        (verbose defaults to 0 here; Keras's "auto" shows a bar.)"""
        verbose = resolve_verbose(verbose)
        batch_size = _check_int("batch_size", batch_size, 1) if batch_size is not None else 32
        data = self._adapt(x, need_y=False)
        self._prepare(data, batch_size)
        cbs = CallbackList(callbacks, model=self, progbar=ProgbarLogger(verbose) if verbose else None,
                           params={"steps": self._steps(data, batch_size), "verbose": verbose,
                                   "mode": "predict"})
        cbs.on_predict_begin()
        outs = []
        with self._inference(), thread_policy(self, batch_size, training=False):
            for step, batch in enumerate(self._iter_batches(data, batch_size)):
                cbs.on_predict_batch_begin(step)
                x_b, _, _, m = self._batch_to_device(batch)
                y_pred, _ = self._forward_with_mask(x_b, m)
                outs.append(self._to_numpy(y_pred))
                cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end()
        return self._join_predictions(outs)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.predict(x, batch_size=max(len(x), 1))
