"""rnnkit.nn against torch.nn with the same state_dict: outputs, final states and
the gradients of the input, the initial state and every weight, for every
backend (fp32 ≤ 2e-5, float64 ≤ 1e-10)."""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rnn

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")]
T, B, I, H, P = 5, 3, 3, 4, 2
LENGTHS = torch.tensor([5, 2, 4])  # unsorted on purpose: torch's enforce_sorted=False path

KINDS = {  # name: (torch.nn class, rnnkit.nn class, shared kwargs)
    "rnn_tanh": (torch.nn.RNN, rnn.RNN, {}),
    "rnn_relu": (torch.nn.RNN, rnn.RNN, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTM, rnn.LSTM, {}),
    "lstm_proj": (torch.nn.LSTM, rnn.LSTM, {"proj_size": P}),
    "gru": (torch.nn.GRU, rnn.GRU, {}),
}


def _pair(kind, dtype, backend, **kw):
    torch_cls, our_cls, extra = KINDS[kind]
    torch.manual_seed(0)
    ref = torch_cls(I, H, **extra, **kw).to(dtype)
    ours = our_cls(I, H, **extra, **kw, backend=backend).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _state(kind, L, D, batch, dtype):
    g = torch.Generator().manual_seed(1)
    h = torch.randn(L * D, *batch, P if kind == "lstm_proj" else H, generator=g, dtype=dtype)
    if not kind.startswith("lstm"):
        return h.requires_grad_(True)
    c = torch.randn(L * D, *batch, H, generator=g, dtype=dtype)
    return h.requires_grad_(True), c.requires_grad_(True)


def _run(m, inp, hx, leaves, core):
    out, state = m(inp() if callable(inp) else inp, hx)
    if isinstance(out, PackedSequence):
        out = pad_packed_sequence(out, batch_first=m.batch_first)[0]
    return [out, state, core.grads((out, state), [*leaves, *m.parameters()])]


@pytest.mark.parametrize("kind,L,bidirectional,layout", list(itertools.product(
    sorted(KINDS), [1, 2], [False, True],
    ["time_first", "batch_first", "packed_time_first", "packed_batch_first"])))
@pytest.mark.parametrize("backend", ["reference", "torch", "auto"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torch_nn(core, kind, L, bidirectional, layout, backend, dtype):
    batch_first = layout.endswith("batch_first")
    ref, ours = _pair(kind, dtype, backend, num_layers=L, bidirectional=bidirectional,
                      batch_first=batch_first)
    g = torch.Generator().manual_seed(2)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g, dtype=dtype,
                    requires_grad=True)
    hx = _state(kind, L, 2 if bidirectional else 1, (B,), dtype)
    leaves = [x, *core.flat([hx])]
    inp = x
    if layout.startswith("packed"):  # packed afresh per run: each backward frees its graph
        inp = lambda: pack_padded_sequence(  # noqa: E731
            x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    a, b = _run(ref, inp, hx, leaves, core), _run(ours, inp, hx, leaves, core)
    assert core.max_abs_diff(a, b) <= core.TOL[dtype]
    if backend != "auto":
        assert ours.last_choice.kernel == backend


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("backend", ["reference", "torch", "auto"])
def test_unbatched_and_default_state(core, kind, backend):
    dtype = torch.float64
    ref, ours = _pair(kind, dtype, backend, num_layers=2, bidirectional=True)
    x = torch.randn(T, I, dtype=dtype, requires_grad=True)
    hx = _state(kind, 2, 2, (), dtype)
    a = _run(ref, x, hx, [x, *core.flat([hx])], core)
    b = _run(ours, x, hx, [x, *core.flat([hx])], core)
    assert core.max_abs_diff(a, b) <= core.TOL[dtype]
    assert core.max_abs_diff(ref(x)[1], ours(x)[1]) <= core.TOL[dtype]  # hx=None: zeros


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("how", ["lengths", "mask"])
def test_lengths_and_mask_equal_torchs_packed_run(core, kind, how):
    """forward(lengths=) and forward(mask=) on a padded batch = torch.nn on the PackedSequence."""
    dtype = torch.float64
    ref, ours = _pair(kind, dtype, "auto", bidirectional=True, batch_first=True)
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    hx = _state(kind, 1, 2, (B,), dtype)
    leaves = [x, *core.flat([hx])]
    a = _run(ref, pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False), hx,
             leaves, core)
    kw = {"lengths": LENGTHS} if how == "lengths" else \
        {"mask": torch.arange(T).unsqueeze(0) < LENGTHS.unsqueeze(1)}  # (B, T) with batch_first
    out, state = ours(x, hx, **kw)
    b = [out, state, core.grads((out, state), [*leaves, *ours.parameters()])]
    assert core.max_abs_diff(a, b) <= core.TOL[dtype]


def test_packed_output_keeps_the_input_order(core):
    ref, ours = _pair("gru", torch.float64, "reference")
    x = torch.randn(T, B, I, dtype=torch.float64)
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    a, b = ref(packed)[0], ours(packed)[0]
    assert torch.equal(a.batch_sizes, b.batch_sizes)
    assert torch.equal(a.sorted_indices, b.sorted_indices)
    assert torch.equal(a.unsorted_indices, b.unsorted_indices)
    assert core.max_abs_diff(a.data, b.data) <= 1e-12


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_state_dict_names_match_torch(kind):
    ref, ours = _pair(kind, torch.float32, "auto", num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert all(ours.state_dict()[k].shape == v.shape for k, v in ref.state_dict().items())
