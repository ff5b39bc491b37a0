"""The compile config of a ``.keras`` file (``config.json``'s ``compile_config``:
optimizer, loss, metrics, loss_weights) <-> rnnkit's ``compile`` arguments.

Read: each Keras name or ``{"class_name", "config"}`` object is mapped onto
rnnkit's optimizer, loss or metric of the same meaning, with the same
hyperparameters. When everything maps, the loaded model is compiled the same
way; when anything doesn't (a learning-rate schedule, EMA, a custom loss
function, a metric rnnkit lacks, ``weighted_metrics``), a warning names each
piece and the model is returned uncompiled, so that nothing trains on a
silently different objective. Keras's run settings (``run_eagerly``,
``steps_per_execution``, ``jit_compile``) don't change what is computed and
are ignored. JSON in, JSON out: nothing is imported or executed by name.

Write: rnnkit's compile config (``get_compile_config``) in Keras 3's form,
which ``keras.models.load_model`` compiles from.
"""
from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

__all__ = ["compile_from_keras", "compile_to_keras"]

_OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
# Keras optimizer arguments that must stay at their "off" value, since rnnkit lacks them.
_OPT_OFF = {"use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None,
            "decay": 0.0}  # tf.keras 2's time-based learning-rate decay
# Meaningless once use_ema=False, or only about how tf.keras 2 runs the optimizer.
_OPT_DROP = ("name", "ema_momentum", "ema_overwrite_frequency", "jit_compile",
             "is_legacy_optimizer")
# Keras metric classes -> rnnkit's metric name (the canonical Keras name, logged as such).
_METRICS = {"MeanAbsoluteError": "mean_absolute_error", "MeanSquaredError": "mean_squared_error",
            "RootMeanSquaredError": "root_mean_squared_error",
            "BinaryAccuracy": "binary_accuracy", "CategoricalAccuracy": "categorical_accuracy",
            "SparseCategoricalAccuracy": "sparse_categorical_accuracy"}
_IGNORED = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


class _Unmapped(Exception):
    """One piece of the compile config that rnnkit can't reproduce (the message says which)."""


def _float32(value) -> float:
    # Keras stores float32 hyperparameters as doubles (0.0010000000474974513): read them back
    # as the float32 value they are (0.001).
    return float(str(np.float32(value)))


# --- Keras -> rnnkit -------------------------------------------------------------------------
def _optimizer_in(spec):
    from rnnkit.training.optimizers import OPTIMIZERS, get_optimizer

    if isinstance(spec, str):
        if spec.lower() not in OPTIMIZERS:
            raise _Unmapped(f"optimizer {spec!r} (rnnkit has {sorted(OPTIMIZERS)})")
        return get_optimizer(spec)
    if not isinstance(spec, dict) or spec.get("class_name") not in _OPTIMIZERS:
        got = spec.get("class_name") if isinstance(spec, dict) else spec
        raise _Unmapped(f"optimizer {got!r} (rnnkit has {list(_OPTIMIZERS)})")
    cls, cfg = spec["class_name"], dict(spec.get("config") or {})
    lr = cfg.get("learning_rate")
    if isinstance(lr, dict):
        raise _Unmapped(f"the {cls} optimizer's learning-rate schedule "
                        f"{lr.get('class_name')!r} (rnnkit takes a number; use a callback)")
    for key, off in _OPT_OFF.items():
        if cfg.pop(key, off) != off:
            raise _Unmapped(f"the {cls} optimizer's `{key}` (rnnkit supports only {off!r})")
    for key in _OPT_DROP:
        cfg.pop(key, None)
    cfg = {k: _float32(v) if isinstance(v, float) else v for k, v in cfg.items()}
    try:
        return get_optimizer({"class_name": cls, "config": cfg})
    except (TypeError, ValueError) as e:
        raise _Unmapped(f"the {cls} optimizer's config ({e})") from None


def _loss_in(spec):
    from rnnkit.training.losses import LOSSES, get_loss

    if spec is None:
        return None
    if isinstance(spec, dict) and spec.get("class_name") == "function" \
            and isinstance(spec.get("config"), str):
        spec = spec["config"]  # a keras.losses function, stored by its name
    if isinstance(spec, str):
        if spec not in LOSSES and spec.lower() not in LOSSES:
            raise _Unmapped(f"loss {spec!r} (rnnkit has {sorted(LOSSES)})")
        return spec
    if not isinstance(spec, dict) or spec.get("module") not in (None, "keras.losses"):
        got = spec.get("class_name") if isinstance(spec, dict) else spec
        raise _Unmapped(f"loss {got!r} (a custom loss can't be loaded without its code)")
    cls, cfg = spec.get("class_name"), dict(spec.get("config") or {})
    if cfg.get("reduction") == "auto":  # tf.keras 2's name for the default
        cfg["reduction"] = "sum_over_batch_size"
    if cfg.pop("axis", -1) != -1:
        raise _Unmapped(f"loss {cls!r} with `axis` other than -1")
    if cfg.pop("dtype", None) not in (None, "float32"):
        raise _Unmapped(f"loss {cls!r} with a dtype other than float32")
    if cfg.get("ignore_class", None) is not None:
        raise _Unmapped(f"loss {cls!r} with `ignore_class`")
    cfg.pop("ignore_class", None)
    classes = sorted({c.__name__ for c in LOSSES.values()})
    if cls not in classes:
        raise _Unmapped(f"loss {cls!r} (rnnkit has {classes})")
    try:
        return get_loss({"class_name": cls, "config": cfg})
    except (TypeError, ValueError) as e:
        raise _Unmapped(f"loss {cls!r} ({e})") from None


def _metric_in(spec):
    from rnnkit.training.metrics import METRIC_NAMES, get_metric

    if isinstance(spec, str):
        if spec.lower() not in METRIC_NAMES:
            raise _Unmapped(f"metric {spec!r} (rnnkit has {sorted(METRIC_NAMES)})")
        return spec
    cls = spec.get("class_name") if isinstance(spec, dict) else spec
    if cls not in _METRICS or spec.get("module") not in (None, "keras.metrics"):
        raise _Unmapped(f"metric {cls!r} (rnnkit has {sorted(_METRICS)} as objects)")
    cfg = dict(spec.get("config") or {})
    name = cfg.pop("name", _METRICS[cls])
    if cfg.pop("dtype", None) not in (None, "float32") or cfg.pop("threshold", 0.5) != 0.5 or cfg:
        raise _Unmapped(f"metric {cls!r} with arguments rnnkit lacks ({sorted(cfg) or 'dtype'})")
    if name == _METRICS[cls]:
        return name
    metric = get_metric(_METRICS[cls])
    metric.name = name  # logged under the name given in Keras
    return metric


def _per_output(value, fn):
    """fn on one spec, or on each of a per-output list or dict of specs."""
    if isinstance(value, dict) and "class_name" not in value:
        return {k: fn(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [fn(v) for v in value]
    return fn(value)


def _metrics_in(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _metrics_in(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # one list, or one list per output
        return [_metrics_in(v) if isinstance(v, (list, tuple)) else _metric_in(v)
                for v in value]
    return [_metric_in(value)]


def _guard(problems: list, fn, *args):
    try:
        return fn(*args)
    except _Unmapped as e:
        problems.append(str(e))
        return None


def compile_from_keras(model, cc: Optional[dict], where: str) -> bool:
    """Compile ``model`` as Keras's ``compile_config`` ``cc`` says (a ``.keras`` file's,
    or a legacy ``.h5`` file's ``training_config``, whose optimizer is under
    ``optimizer_config``); True when it did. Warns, naming every piece rnnkit can't
    reproduce, and leaves the model uncompiled when anything is missing."""
    if not cc:
        return False
    if not isinstance(cc, dict):
        warnings.warn(f"{where}: its compile config is not a JSON object; the model is "
                      "returned uncompiled", stacklevel=3)
        return False
    if "optimizer_config" in cc:  # legacy .h5 training_config
        cc = {**cc, "optimizer": cc["optimizer_config"]}
    problems: list[str] = []
    optimizer = _guard(problems, _optimizer_in, cc.get("optimizer", "rmsprop"))
    loss = _guard(problems, _per_output, cc.get("loss"), _loss_in)
    metrics = _guard(problems, _metrics_in, cc.get("metrics"))
    if cc.get("weighted_metrics"):
        problems.append("weighted_metrics (rnnkit has none)")
    kwargs: dict[str, Any] = {"optimizer": optimizer, "loss": loss, "metrics": metrics}
    if cc.get("loss_weights") is not None:
        if type(model).__name__ == "Sequential":
            problems.append("loss_weights on a Sequential model")
        kwargs["loss_weights"] = cc["loss_weights"]
    if not problems:
        try:
            model.compile(**kwargs)
            return True
        except (TypeError, ValueError) as e:
            problems.append(str(e))
    warnings.warn(f"{where}: the model's compile config can't be reproduced by rnnkit, so the "
                  f"model is returned uncompiled (call compile() before fit): "
                  f"{'; '.join(problems)}", stacklevel=3)
    return False


# --- rnnkit -> Keras -------------------------------------------------------------------------
def _obj_out(module: str, spec: dict) -> dict:
    return {"module": module, "class_name": spec["class_name"],
            "config": dict(spec["config"]), "registered_name": None}


def _metric_objects(model) -> list[str]:
    """Names of the compiled metrics that were given as objects (Sequential's specs are
    names or None; a functional model's are (output index, name or None))."""
    specs = list(getattr(model, "_metric_specs", None) or [])
    metrics = [m for _, m in getattr(model, "_output_metrics", [])] or \
        list(getattr(model, "compiled_metrics", []))
    if len(specs) != len(metrics):
        return []
    return [m.name for m, s in zip(metrics, specs)
            if (s[1] if isinstance(s, tuple) else s) is None]


# rnnkit's metric aliases that Keras doesn't know as strings: written as Keras objects
# under the same name, so Keras logs them as rnnkit does.
_ALIAS_OUT = {"rmse": "RootMeanSquaredError"}


def _metric_names_out(value):
    if isinstance(value, dict):
        return {k: _metric_names_out(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_metric_names_out(v) for v in value]
    if isinstance(value, str) and value.lower() in _ALIAS_OUT:
        return {"module": "keras.metrics", "class_name": _ALIAS_OUT[value.lower()],
                "config": {"name": value, "dtype": "float32"}, "registered_name": None}
    return value


def compile_to_keras(model) -> Optional[dict]:
    """``model``'s compile arguments as Keras 3's ``compile_config``; None when it isn't
    compiled, or (with a warning) when Keras couldn't rebuild them (a torch optimizer,
    a loss given as a Python function)."""
    cc = model.get_compile_config() if getattr(model, "compiled", False) else None
    if cc is None:
        return None
    opt = cc["optimizer"]
    missing = []
    if opt.get("class_name") not in _OPTIMIZERS:
        missing.append(f"optimizer {opt.get('class_name')!r}")
    loss = cc.get("loss")
    if loss is None and getattr(model, "loss", None) is not None:
        missing.append("a loss given as a Python function")
    if missing:
        warnings.warn(f"model {model.name!r}: its compile config isn't written to the Keras "
                      f"file ({', '.join(missing)} can't be saved for Keras); Keras will load "
                      "it uncompiled", stacklevel=4)
        return None

    def loss_out(spec):
        return None if spec is None else _obj_out("keras.losses", spec)

    unnamed = _metric_objects(model)
    if unnamed:
        warnings.warn(f"model {model.name!r}: metric(s) {unnamed} were given as objects, which "
                      "rnnkit's compile config doesn't record; they aren't written to the Keras "
                      "file (give them by name to keep them)", stacklevel=4)
    metrics = _metric_names_out(cc.get("metrics"))
    if isinstance(metrics, dict) and not any(metrics.values()):
        metrics = None
    return {"optimizer": _obj_out("keras.optimizers", opt),
            "loss": _per_output(loss, loss_out) if loss is not None else None,
            "loss_weights": cc.get("loss_weights"),
            "metrics": metrics or None, "weighted_metrics": None, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}
