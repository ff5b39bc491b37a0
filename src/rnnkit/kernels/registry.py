"""One registry for every kernel: it picks the fastest one that runs the exact
configuration, and says why. Layers reach kernels only through :func:`run`.

A kernel is registered with a name, a ``why_not(spec, **facts)`` that returns
None when it can run the configuration (else the reason it can't), and a
``run(spec, weights, x, hx, mask, training=, generator=)`` with the reference's
contract. Kernels are tried in registration priority order, fastest first.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor

from rnnkit.kernels import cpu, reference, scan, threads, torch_fused
from rnnkit.kernels.base import Kernel, StepKernel
from rnnkit.kernels.masks import mask_kind
from rnnkit.kernels.spec import RecurrentSpec


@dataclass
class Choice:
    """Which kernel ran and why the faster ones didn't."""

    kernel: str
    backend: str
    rejected: dict[str, str] = field(default_factory=dict)
    threads: str = ""  # torch's thread count in force and why (rnnkit.kernels.threads)
    notes: tuple = ()  # e.g. the precision it computed in (rnnkit.kernels.precision)

    def __str__(self) -> str:
        lines = [f"kernel: {self.kernel} (backend={self.backend!r})"]
        lines += [f"  not {name}: {why}" for name, why in self.rejected.items()]
        if self.threads:
            lines.append(f"threads: {self.threads}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


_KERNELS: dict[str, Kernel] = {}


def register(kernel: Kernel) -> None:
    _KERNELS[kernel.name] = kernel
    _CHOICES.clear()


# (spec, backend, facts, thread count and why) -> (kernel, Choice): deciding takes ~7 µs of
# why_not calls, a few percent of a short sequence's forward. Bounded: cleared when full.
_CHOICES: dict[tuple, tuple] = {}
_CHOICES_MAX = 1024


def kernels() -> list[Kernel]:
    return sorted(_KERNELS.values(), key=lambda k: -k.priority)


def backend_names() -> list[str]:
    return ["auto"] + [k.name for k in kernels()]


def _pick(table: dict, ordered: list, spec: RecurrentSpec, backend: str, what: str, **facts):
    """The first kernel (fastest first under "auto") whose why_not (and, under
    auto, yields) has no objection; an explicit backend that objects raises."""
    if backend != "auto" and backend not in table:
        raise ValueError(f"`backend` must be one of {['auto'] + [k.name for k in ordered]}, "
                         f"got {backend!r}")
    rejected: dict[str, str] = {}
    for k in ordered if backend == "auto" else [table[backend]]:
        why = k.why_not(spec, **facts)
        if why is None and backend == "auto" and getattr(k, "yields", None) is not None:
            why = k.yields(spec, **facts)
        if why is None:
            return k, Choice(k.name, backend, rejected)
        rejected[k.name] = why
    if backend != "auto":
        raise ValueError(f"backend={backend!r} can't run this {what}: {rejected[backend]}")
    raise AssertionError(f"the reference kernel runs every {what}")


def choose(spec: RecurrentSpec, backend: str = "auto", **facts) -> tuple[Kernel, Choice]:
    """Pick a kernel. ``facts``: mask_kind ("none"/"right"/"any"), training, device, dtype,
    batch (the batch size). The choice may also depend on torch's thread count, which
    the Choice records with its reason."""
    n_why = threads.current()
    key = (spec, backend, tuple(sorted(facts.items())), n_why)
    table = tuple(_KERNELS.values())  # a kernel set or replaced without register() misses
    try:
        hit = _CHOICES.get(key)
    except TypeError:  # an unhashable custom activation: decide every time
        kernel, choice = _pick(_KERNELS, kernels(), spec, backend, "configuration", **facts)
        choice.threads = n_why
        return kernel, choice
    if hit is None or hit[0] != table:
        kernel, choice = _pick(_KERNELS, kernels(), spec, backend, "configuration", **facts)
        choice.threads = n_why
        hit = (table, (kernel, choice))
        if len(_CHOICES) >= _CHOICES_MAX:
            _CHOICES.clear()
        _CHOICES[key] = hit
    return hit[1]


def run(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor] = None, *, training: bool = False, backend: str = "auto",
        generator: Optional[torch.Generator] = None):
    """Run a recurrent stack on time-first x (T, B, I) with state hx (each (L*D, B, ·)).

    ``go_backwards`` (Keras): the sequence is processed last step first and the
    outputs come back in that processing order. Returns (output, state, Choice).

    Edge cases, decided here for every kernel:

    - B = 0 returns empty outputs (T, 0, ·) and states (L*D, 0, ·), as torch.nn does
      (the reference loop makes them: there is no step to compute);
    - T = 0 raises ValueError, as torch.nn raises: with no step there is no last output;
    - a batch whose every step is masked returns the initial state and zero
      outputs, and warns once per process (a loss over it is 0, with no gradient).
    """
    T, B = x.shape[0], x.shape[1]
    if T == 0:
        raise ValueError(f"`x` has 0 time steps (shape {tuple(x.shape)}, time-first); a recurrent "
                         "layer needs at least one step (torch.nn refuses T=0 as well)")
    if spec.go_backwards:
        x = x.flip(0)
        mask = None if mask is None else mask.flip(0)
    threads.tick()  # the thread policy's load guard, inside fit/evaluate/predict only
    if x.is_meta:
        # a shapes-only build (a model file checked before it is allocated) has no values
        # to choose a kernel by; the reference loop gives the output shapes
        out, state = reference.run(spec, weights, x, hx, None, training=False)
        return out, state, Choice("reference", backend, {})
    if mask is not None and B > 0 and not bool(mask.any()):
        _warn_all_masked(tuple(mask.shape))
    kernel, choice = choose(spec, backend, mask_kind=mask_kind(mask), training=training,
                            device=x.device, dtype=x.dtype, batch=B)
    if B == 0 and kernel.name != "reference":
        out, state = reference.run(spec, weights, x, hx, mask, training=training,
                                   generator=generator)
        why = "an empty batch (B=0) has no step to compute; the reference loop returns the " \
              "empty outputs"
        return out, state, Choice("reference", backend, {**choice.rejected, kernel.name: why})
    out, state = kernel.run(spec, weights, x, hx, mask, training=training, generator=generator)
    return out, state, choice


_ALL_MASKED_WARNED = False


def _warn_all_masked(shape: tuple) -> None:
    global _ALL_MASKED_WARNED
    if _ALL_MASKED_WARNED:
        return
    _ALL_MASKED_WARNED = True
    warnings.warn(f"every step of a batch is masked (mask of shape {shape}, time-first, all "
                  "False): the recurrent layer returns its initial state and zero outputs, "
                  "so a loss over this batch is 0 and trains nothing. Check the `mask`, "
                  "`lengths` or Masking(mask_value=...). This warning is shown once.",
                  RuntimeWarning, stacklevel=3)


register(Kernel("reference", 0, lambda spec, **_: None, reference.run,
                "the plain time loop over rnnkit.cells: every option, the oracle"))
register(Kernel("torch", 10, torch_fused.why_not, torch_fused.run,
                "torch._VF fused ops (oneDNN on CPU, cuDNN on GPU) where semantics match"))
# Priority 5: the only kernel but the reference for its families, and tried after the
# classic families' kernels, so their choice reports don't list it.
register(Kernel("scan", 5, scan.why_not, scan.run,
                "log-space parallel scan (Heinsen 2023) for minGRU/minLSTM, in torch"))


# --- single steps (streaming cells, layer.step) ---------------------------------------
# A parallel registry: one time step of a 1-layer, 1-direction spec, with no
# dropout drawn (streaming inference; a cell's training-time regularisers are
# the caller's). ``step(spec, weights, x, state)`` takes x (B, I), a state tuple
# ((h,) or (h, c), each (B, H)) and returns the new state tuple.

_STEP_KERNELS: dict[str, StepKernel] = {}
# (spec, backend, device, dtype) -> (kernel, Choice): the choice depends on
# nothing else, and re-deciding it costs more than a B=1 step itself.
_STEP_CHOICES: dict[tuple, tuple[StepKernel, Choice]] = {}


def register_step(kernel: StepKernel) -> None:
    _STEP_KERNELS[kernel.name] = kernel
    _STEP_CHOICES.clear()


def step_kernels() -> list[StepKernel]:
    return sorted(_STEP_KERNELS.values(), key=lambda k: -k.priority)


def step_backend_names() -> list[str]:
    return ["auto"] + [k.name for k in step_kernels()]


def choose_step(spec: RecurrentSpec, backend: str = "auto", **facts) -> tuple[StepKernel, Choice]:
    """Pick a step kernel. ``facts``: device, dtype."""
    if spec.num_layers != 1 or spec.bidirectional:
        raise ValueError("a step runs one layer in one direction; got num_layers="
                         f"{spec.num_layers}, bidirectional={spec.bidirectional}")
    return _pick(_STEP_KERNELS, step_kernels(), spec, backend, "step", **facts)


def step(spec: RecurrentSpec, weights: dict, x: Tensor, state: tuple[Tensor, ...], *,
         backend: str = "auto") -> tuple[tuple[Tensor, ...], Choice]:
    """One time step: x (B, I), state (h,) or (h, c) (each (B, H)) -> (new state, Choice)."""
    key = (spec, backend, x.device, x.dtype)
    try:
        hit = _STEP_CHOICES.get(key)
    except TypeError:  # an unhashable custom activation: decide every time
        key, hit = None, None
    if hit is None:
        hit = choose_step(spec, backend, device=x.device, dtype=x.dtype)
        if key is not None:
            _STEP_CHOICES[key] = hit
    kernel, choice = hit
    return kernel.step(spec, weights, x, state), choice


def _reference_step(spec: RecurrentSpec, w: dict, x: Tensor, state: tuple[Tensor, ...]):
    """The family's step function (rnnkit.cells.family); zoneout as its inference-time
    expectation (Krueger et al. 2016: h_t = z h_{t-1} + (1 − z) h̃_t), as the reference
    loop in eval."""
    new = spec.family.bind(spec)(x, state, w, state[0])
    zs = (spec.zoneout_h, spec.zoneout_c)
    return tuple(z * old + (1.0 - z) * s if z > 0 else s for z, old, s in zip(zs, state, new))


register_step(StepKernel("reference", 0, lambda spec, **_: None, _reference_step,
                         "rnnkit.cells' step functions: every option, the oracle"))
# The native kernels (priority 20); cpu/ declares them without importing this module.
register(cpu.KERNEL)
register_step(cpu.STEP_KERNEL)

# --- convolutional recurrences (ConvLSTM, ConvGRU) --------------------------------------
# A table of their own, chosen by the same rules: they take a ConvSpec and (T, B, C, *S).
_CONV_KERNELS: dict[str, Kernel] = {}


def register_conv(kernel: Kernel) -> None:
    _CONV_KERNELS[kernel.name] = kernel


def conv_backend_names() -> list[str]:
    return ["auto"] + [k.name for k in sorted(_CONV_KERNELS.values(), key=lambda k: -k.priority)]


def run_conv(spec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
             mask: Optional[Tensor] = None, *, training: bool = False, backend: str = "auto",
             generator: Optional[torch.Generator] = None):
    """Run a ConvLSTM/ConvGRU stack on x (T, B, C, *S); see kernels/conv_recurrent.py.
    Returns (output (T, B, D·F, *S), states, Choice)."""
    ordered = sorted(_CONV_KERNELS.values(), key=lambda k: -k.priority)
    kernel, choice = _pick(_CONV_KERNELS, ordered, spec, backend, "convolutional recurrence",
                           mask_kind=mask_kind(mask), training=training, device=x.device,
                           dtype=x.dtype)
    out, state = kernel.run(spec, weights, x, hx, mask, training=training, generator=generator)
    return out, state, choice


def _register_conv_kernels() -> None:
    from rnnkit.kernels import conv_fused, conv_recurrent as cr

    register_conv(Kernel("reference", 0, lambda spec, **_: None, cr.run_reference,
                         "the plain time loop over rnnkit.cells' conv steps: the oracle"))
    register_conv(Kernel("conv", 10, cr.why_not_conv, cr.run_conv,
                         "input convolution hoisted over all steps, recurrent conv + gates per step"))
    register_conv(Kernel("conv-cpu", 20, conv_fused.why_not, conv_fused.run,
                         "the conv kernel with a native fused gate update and a hand-written "
                         "backward (recurrent weight gradient in one call over all steps)"))


_register_conv_kernels()
