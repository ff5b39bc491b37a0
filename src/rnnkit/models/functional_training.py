"""compile / fit / evaluate / predict for functional models with several inputs
and outputs, on the one training loop (:class:`rnnkit.models.trainer.Trainer`).

Inside the loop a batch's x and y are tuples (one tensor per input / output,
in the model's order); the hooks below fill the loop's single-tensor slots:

    loss = Σ_k loss_weights[k] · loss_k(y_k, ŷ_k, sample_weight, mask_k) + penalties

with Keras 3's logs: ``loss``, then ``<output>_loss`` per output (unweighted)
and ``<output>_<metric>`` when there are several outputs; plain metric names
for one output. ``loss``, ``metrics`` and ``loss_weights`` take one value (for
every output), a list in output order, or a dict by output name.
"""
from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.models.compile import _resolve_device
from rnnkit.models.data_adapter import BatchStream, adapt
from rnnkit.models.base import BaseModel
from rnnkit.training.losses import Loss, get_loss, serialize_loss
from rnnkit.training.metrics import Mean, Metric, get_metric
from rnnkit.training.optimizers import get_optimizer, serialize_optimizer

__all__ = ["FunctionalTrainingMixin"]


def _per_output(value, names: list[str], what: str, default=None) -> list:
    """One value per output from a single value, a list in order, or a dict by name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"`{what}` has keys {unknown} that aren't outputs of the model; "
                             f"its outputs are {names}")
        return [value.get(k, default) for k in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != n:
            raise ValueError(f"`{what}` must hold one entry per output ({n}: {names}), got "
                             f"{len(value)}")
        return list(value)
    return [value] * n


class FunctionalTrainingMixin(BaseModel):
    """The trainer's hooks for tuples of inputs and outputs; mixed into Model.
    ``self.trainer`` runs the loop (:class:`rnnkit.models.base.BaseModel`)."""

    def _init_training(self) -> None:
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.compiled_metrics: list = []
        self._losses: list = []  # (Loss or None, weight) per output
        self._output_metrics: list = []  # (output index, Metric)
        self._loss_trackers: list = []  # (output index, Mean) with several outputs
        self.stop_training = False
        self.history = None
        self.metadata: Optional[dict] = None

    # --- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                device=None) -> None:
        """Keras's compile with per-output ``loss``, ``metrics`` and ``loss_weights``."""
        names = self.output_names
        dev = _resolve_device(device)
        opt = get_optimizer(optimizer)
        losses = [None if v is None else get_loss(v) for v in _per_output(loss, names, "loss")]
        if loss is not None and all(v is None for v in losses):
            raise ValueError(f"`loss` names none of the outputs {names}")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, names,
                              "loss_weights", default=1.0)
        for k, w in enumerate(weights):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w):
                raise TypeError(f"`loss_weights` for output {names[k]!r} must be a finite "
                                f"number, got {w!r}")
        if metrics is None:
            per = [[] for _ in names]
        elif isinstance(metrics, dict):
            per = _per_output(metrics, names, "metrics", default=[])
        elif isinstance(metrics, (list, tuple)) and len(metrics) == len(names) and len(names) > 1 \
                and all(isinstance(m, (list, tuple)) or m is None for m in metrics):
            per = list(metrics)  # a list of lists: one list per output
        else:
            per = [metrics] * len(names)  # one list for every output, as Keras 2
        specs, tracked = [], []
        for k, entry in enumerate(per):
            entry = [] if entry is None else ([entry] if isinstance(entry, (str, Metric)) or
                                              callable(entry) else list(entry))
            loss_name = losses[k].default_name if isinstance(losses[k], Loss) else None
            for m in entry:
                metric = get_metric(m, loss_name)
                if isinstance(m, Metric) and len(names) > 1:
                    metric = copy.deepcopy(metric)  # one state per output
                if len(names) > 1:
                    metric.name = f"{names[k]}_{metric.name}"
                tracked.append((k, metric))
                specs.append((k, m if isinstance(m, str) else None))
        trackers = []
        if len(names) > 1:
            trackers = [(k, Mean(f"{names[k]}_loss")) for k in range(len(names))
                        if losses[k] is not None]
        all_names = [m.name for _, m in trackers + tracked]
        if len(set(all_names)) != len(all_names) or "loss" in all_names:
            raise ValueError(f"`metrics` must have distinct names other than 'loss', got "
                             f"{all_names}")
        self._losses = [(lo, float(w)) for lo, w in zip(losses, weights)]
        self.loss = None if loss is None else losses
        self._output_metrics, self._loss_trackers = tracked, trackers
        self.compiled_metrics = [m for _, m in trackers + tracked]
        self._metric_specs = specs
        if dev is not None:
            self.to(dev)
        self.optimizer = opt
        if any(True for _ in self.parameters()):
            opt.build(self.parameters())
        self.compiled = True

    def get_compile_config(self) -> Optional[dict]:
        if not getattr(self, "compiled", False):
            return None
        losses = [None if lo is None else serialize_loss(lo) for lo, _ in self._losses]
        user_fn = any(lo is not None and s is None for (lo, _), s in zip(self._losses, losses))
        names = self.output_names
        metrics = {n: [] for n in names}
        for k, spec in self._metric_specs:
            if spec is not None:
                metrics[names[k]].append(spec)
        return {"optimizer": serialize_optimizer(self.optimizer),
                "loss": None if user_fn or self.loss is None else dict(zip(names, losses)),
                "loss_weights": dict(zip(names, [w for _, w in self._losses])),
                "metrics": metrics}

    def _compile_from_config(self, cc: dict, optimizer) -> None:
        self.compile(optimizer=optimizer, loss=cc["loss"], metrics=cc.get("metrics") or None,
                     loss_weights=cc.get("loss_weights"))

    # --- the loop's hooks ------------------------------------------------------------------
    def _adapt(self, x, y=None, sample_weight=None, class_weight=None, *, prefix: str = "",
               need_y: bool = True):
        if isinstance(sample_weight, (dict, list, tuple)) and len(self._outputs) > 1:
            raise ValueError(f"`{prefix}sample_weight` must be one array of per-sample weights "
                             "for every output; per-output sample weights aren't supported by "
                             "rnnkit")
        data = adapt(x, y, sample_weight, class_weight, prefix=prefix, need_y=need_y,
                     x_names=self.input_names, y_names=self.output_names)
        if getattr(data, "mask", None) is not None:
            # The graph's masks come from its layers (Embedding(mask_zero), Masking), as in
            # Keras; a padding mask made here would have nowhere to go.
            k = next(i for i, m in enumerate(data.mask) if m is not None)
            raise ValueError(f"`{prefix}x` input {self.input_names[k]!r} holds sequences of "
                             "different lengths; pad them (rnnkit.utils.pad_sequences) and mask "
                             "the padding in the model (Embedding(mask_zero=True) or Masking)")
        return data

    def _prepare(self, data, batch_size, for_training: bool = False) -> None:
        if isinstance(data, BatchStream):
            shapes = [tuple(t.shape[1:]) for t in data.peek()[0]]
            arg = data.arg
        else:
            shapes, arg = data.sample_shape, "x"
        for k, (t, shape) in enumerate(zip(self._inputs, shapes)):
            want = t.shape[1:]
            where = (f"`{arg}[{k}]` (input {self.input_names[k]!r})" if len(shapes) > 1
                     else f"`{arg}`")
            if len(shape) != len(want) or any(w is not None and w != s
                                              for w, s in zip(want, shape)):
                raise ValueError(f"{where} has samples of shape {tuple(shape)} but the model's "
                                 f"input expects {tuple(want)} (None: any size)")
        if for_training:
            self._build_optimizer()

    def _device_and_dtype(self):
        for p in self.parameters():
            if torch.is_floating_point(p):
                return p.device, p.dtype
        return torch.device("cpu"), torch.float32

    def _integer_inputs(self) -> list:
        return list(self._int_inputs)

    def _forward_with_mask(self, x, mask=None):
        outs, masks = self._run(list(x), None if mask is None else list(mask))
        return tuple(outs), tuple(masks)

    def _batch_len(self, x) -> int:
        return int(x[0].shape[0])

    def _per_output_tensors(self, value, arg: str) -> tuple:
        """One entry per output from a tensor (one output), a list/tuple or a dict by name."""
        names = self.output_names
        if value is None:
            return (None,) * len(names)
        if isinstance(value, dict):
            return tuple(value.get(k) for k in names)
        if isinstance(value, (list, tuple)):
            if len(value) != len(names):
                raise ValueError(f"`{arg}` must hold one entry per output ({len(names)}: "
                                 f"{names}), got {len(value)}")
            return tuple(value)
        if len(names) != 1:
            raise ValueError(f"the model has {len(names)} outputs ({names}); pass `{arg}` as a "
                             f"list or a dict, got one {type(value).__name__}")
        return (value,)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True,
                     mask=None) -> Tensor:
        """Keras 3's ``compute_loss``: Σ_k loss_weights[k] · loss_k + penalties; ``y``,
        ``y_pred`` (and ``mask``) as one tensor, a list in output order, or a dict."""
        return self._compute_loss(self._per_output_tensors(y, "y"),
                                  self._per_output_tensors(y_pred, "y_pred"), sample_weight,
                                  self._per_output_tensors(mask, "mask"))

    def _compute_loss(self, y, y_pred, w, m_out) -> Tensor:
        total = None
        self._last_losses = []
        names = self.output_names
        for k, (loss_fn, weight) in enumerate(self._losses):
            if loss_fn is None:
                continue
            if y[k] is None:
                raise ValueError(f"output {names[k]!r} has a loss but `y` has no target for it")
            value = loss_fn(y[k], y_pred[k], sample_weight=w, mask=m_out[k])
            self._last_losses.append((k, value.detach()))
            term = value if weight == 1.0 else weight * value
            total = term if total is None else total + term
        return self._add_penalties(total)

    def _update_metrics(self, y, y_pred, w, m_out) -> None:
        n = self._batch_len(y_pred)
        last = dict(self._last_losses)
        for k, tracker in self._loss_trackers:
            tracker.update_values(last[k].reshape(1), torch.tensor([float(n)]))
        for k, metric in self._output_metrics:
            metric.update_state(y[k], y_pred[k].detach(), sample_weight=w, mask=m_out[k])

    def _to_numpy(self, y_pred):
        return [t.detach().cpu().numpy() for t in y_pred]

    def _join_predictions(self, outs: list):
        joined = [np.concatenate([o[k] for o in outs], axis=0) for k in range(len(self._outputs))]
        if self._output_form is None:
            return joined[0]
        if isinstance(self._output_form, list):
            return dict(zip(self._output_form, joined))
        return joined

    def predict_on_batch(self, x):
        xs = self._flat_inputs(x, "x")
        return self.predict(x, batch_size=max(int(xs[0].shape[0]), 1))

    def _metric_values(self, logs: dict) -> list:
        return [logs[m.name] for m in self.compiled_metrics]

