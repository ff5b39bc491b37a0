"""The base class of every rnnkit model: Keras 3's Model API on one :class:`Trainer`.

    class Sequential(BaseModel, nn.Module)      # layers in a line
    class Model(FunctionalTrainingMixin, ...)   # a graph (FunctionalTrainingMixin is a BaseModel)
    class Seq2Seq(..., BaseModel, nn.Module)    # encoder-decoder, its own fit arguments

``compile`` resolves the optimizer, loss and metrics; ``fit`` / ``evaluate`` /
``predict`` check and adapt the data (Keras 3's arguments and defaults) and hand
it to ``self.trainer``, which runs the loop and calls the hooks
``train_step(batch)`` / ``test_step(batch)`` / ``predict_step(batch)``. As in
Keras, a subclass overrides ``train_step`` for a custom step::

    class Clipped(Sequential):
        def train_step(self, batch):
            x, y = batch
            self.optimizer.zero_grad()
            loss = self.compute_loss(y=y, y_pred=self(x))
            loss.backward()
            torch.nn.utils.clip_grad_value_(self.parameters(), 0.1)
            self.optimizer.step()
            return {"loss": self.trainer.train_loss.update(float(loss), len(x))}

``build``, ``summary`` and ``save`` are each model's own (its structure and
file format); a model built at construction has nothing to ``build``.
"""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np
from torch import Tensor

from rnnkit.layers.regularizers import clear_activity, has_penalties, total_penalty
from rnnkit.models.compile import CompileMixin
from rnnkit.models.data_adapter import ArrayData, BatchStream, adapt
from rnnkit.models.steps import Batch
from rnnkit.models.trainer import Trainer
from rnnkit.training.callbacks import History
from rnnkit.training.progress import resolve_verbose
from rnnkit.training.tbptt import check_tbptt
from rnnkit.util import checks

__all__ = ["BaseModel"]


def _check_int(name: str, value, minimum: int) -> int:
    return checks.integer(value, name, minimum=minimum)


class BaseModel(CompileMixin):
    """compile / fit / evaluate / predict through one :class:`Trainer` (``self.trainer``),
    and the step hooks a subclass may override. Mixed in before ``torch.nn.Module``."""

    compiled_metrics: tuple = ()  # instances set their own list in compile

    # --- the one trainer --------------------------------------------------------------------
    @property
    def trainer(self) -> Trainer:
        """The model's :class:`Trainer` (made on first use, one per model)."""
        t = self.__dict__.get("_trainer")
        if t is None:
            t = self.__dict__["_trainer"] = Trainer(self)
        return t

    @property
    def stop_training(self) -> bool:
        """Keras's flag: a callback sets it to end ``fit`` after the current batch; the
        trainer's ``stop_training`` (one flag)."""
        return self.trainer.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.trainer.stop_training = bool(value)

    # --- structure and files: each model's own, these are the defaults -----------------------
    def build(self, input_shape=None) -> None:
        """Keras's ``build``: a model made whole at construction (the functional Model,
        Seq2Seq) has nothing to build; Sequential builds its layers from the shape."""

    def reset_states(self) -> None:
        """Keras's ``model.reset_states()``: forget the state of every stateful layer."""
        for layer in getattr(self, "layers", ()):
            reset = getattr(layer, "reset_states", None)
            if callable(reset):
                reset()

    def compute_mask(self, x, mask=None):
        """A model passes no mask on (Keras's Model.compute_mask for these models)."""
        return None

    def summary(self, print_fn=None) -> None:
        """Print the model's top-level modules with their parameters and the totals
        (Sequential and the functional Model print Keras's table with output shapes)."""
        from rnnkit.models.summary import format_module_summary

        (print_fn or print)(format_module_summary(self, type(self).__name__.lower()))

    def save(self, filepath, *args, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define save(filepath): each "
                                  "model writes its own file format (safetensors + JSON)")

    # --- the step hooks (Keras 3's names) -----------------------------------------------------
    def train_step(self, batch: Batch) -> dict:
        """One training step on ``batch`` (a :class:`~rnnkit.models.trainer.Batch`:
        ``x, y = batch`` or ``x, y, sample_weight = batch``; ``batch.mask``); returns the
        epoch's running logs. Default: the trainer's step (forward, loss, backward,
        optimizer step, metrics)."""
        return self.trainer.train_step(batch)

    def test_step(self, batch: Batch) -> dict:
        """One evaluation step (no gradients, eval mode); returns the running logs."""
        return self.trainer.test_step(batch)

    def predict_step(self, batch: Batch):
        """The outputs for one batch (no gradients, eval mode)."""
        return self.trainer.predict_step(batch)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True,
                     mask=None) -> Tensor:
        """Keras 3's ``compute_loss``: the compiled loss of ``y_pred`` against ``y`` plus
        the layers' regularizer penalties (added in training and evaluation alike, as
        rnnkit's fit and evaluate report them; ``training`` is accepted for Keras's
        signature). ``mask``: the output mask of padded sequences, rnnkit's extra."""
        return self._compute_loss(y, y_pred, sample_weight, mask)

    def _distributed_module(self):
        """What DistributedDataParallel wraps under torchrun (``trainer.strategy``): the
        forward with the padding mask, ``(x, mask) -> (y, mask)``."""
        from rnnkit.distributed.strategy import MaskedForward

        return MaskedForward(self)

    # --- hooks for the Keras-style data (overridden by the functional Model) -----------------
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

    def _adapt(self, x, y=None, sample_weight=None, class_weight=None, *, prefix: str = "",
               need_y: bool = True):
        return adapt(x, y, sample_weight, class_weight, prefix=prefix, need_y=need_y)

    def _integer_inputs(self) -> list:
        """Per input: does the model read it as integer ids (kept as ints on the device)?"""
        return [self._wants_integer_input()]

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

    def _update_metrics(self, y, y_pred, w, m_out) -> None:
        for metric in self.compiled_metrics:
            metric.update_state(y, y_pred, sample_weight=w, mask=m_out)

    def _metric_values(self, logs: dict) -> list:
        return [logs[m.name] for m in self.compiled_metrics]

    def _to_numpy(self, y_pred):
        if isinstance(y_pred, (list, tuple)):  # a last layer with several outputs, as Keras's
            # Bidirectional(merge_mode=None): the same container, one array per output
            return type(y_pred)(t.detach().cpu().numpy() for t in y_pred)
        return y_pred.detach().cpu().numpy()

    def _join_predictions(self, outs: list):
        if outs and isinstance(outs[0], (list, tuple)):  # per output, the batches in order
            return type(outs[0])(np.concatenate([o[k] for o in outs], axis=0)
                                 for k in range(len(outs[0])))
        return np.concatenate(outs, axis=0)

    def _logs(self, loss_total: float, count: float) -> dict:
        logs = {"loss": loss_total / count if count else float("nan")}
        logs.update({m.name: m.result() for m in self.compiled_metrics})
        return logs

    def _data_shape(self, data) -> tuple:
        return data.sample_shape if isinstance(data, ArrayData) else \
            tuple(data.peek()[0].shape[1:])

    # --- fit / evaluate / predict --------------------------------------------------------------
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
        k = None
        if tbptt is not None:
            shape = self._data_shape(train)
            k = check_tbptt(tbptt, shape[0] if shape else None)
        if val is not None:
            self._prepare(val, batch_size)
        val_bs = _check_int("validation_batch_size", validation_batch_size or batch_size, 1)
        return self.trainer.fit(train, epochs=epochs, batch_size=batch_size, validation=val,
                                validation_batch_size=val_bs, validation_freq=validation_freq,
                                shuffle=shuffle, initial_epoch=initial_epoch,
                                callbacks=callbacks, verbose=verbose, tbptt=k)

    def evaluate(self, x=None, y=None, batch_size: Optional[int] = None, verbose="auto",
                 sample_weight=None, return_dict: bool = False, callbacks=None):
        """Loss (and metrics) on the data: the loss alone when there are no metrics,
        else ``[loss, *metrics]``; a dict with ``return_dict=True``."""
        self._require_compiled("evaluate")
        verbose = resolve_verbose(verbose)
        batch_size = _check_int("batch_size", batch_size, 1) if batch_size is not None else 32
        data = self._adapt(x, y, sample_weight)
        self._prepare(data, batch_size)
        logs = self.trainer.evaluate(data, batch_size=batch_size, callbacks=callbacks,
                                     verbose=verbose)
        if return_dict:
            return logs
        values = [logs["loss"]] + self._metric_values(logs)
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: Optional[int] = None, verbose=0, callbacks=None):
        """Outputs for ``x`` as a numpy array: batched, eval mode, no gradients.
        (verbose defaults to 0 here; Keras's "auto" shows a bar.)"""
        verbose = resolve_verbose(verbose)
        batch_size = _check_int("batch_size", batch_size, 1) if batch_size is not None else 32
        data = self._adapt(x, need_y=False)
        self._prepare(data, batch_size)
        outs = self.trainer.predict(data, batch_size=batch_size, callbacks=callbacks,
                                    verbose=verbose)
        return self._join_predictions(outs)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.predict(x, batch_size=max(len(x), 1))
