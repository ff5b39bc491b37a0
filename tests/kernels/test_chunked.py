"""checkpoint_every=k: the same outputs, states and gradients as one pass (float64),
less memory kept for backward, finite at T=100,000, and bad values refused."""
import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.layers as L
import rnnkit.nn as rnn
from rnnkit.kernels import chunked

MODULES = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}
LAYERS = {"rnn": L.SimpleRNN, "lstm": L.LSTM, "gru": L.GRU}


def _loss(out, state):
    states = state if isinstance(state, tuple) else (state,)
    w = torch.sin(torch.arange(out.numel(), dtype=out.dtype)).reshape(out.shape)
    return (out * w).sum() + sum((s * 0.7).sum() for s in states)


def _grads(module, x, hx, **kw):
    out, state = module(x, hx, **kw)
    params = list(module.parameters())
    inputs = [x] + ([hx] if isinstance(hx, torch.Tensor) else list(hx)) + params
    return [out] + list(state if isinstance(state, tuple) else (state,)) + \
        list(torch.autograd.grad(_loss(out, state), inputs))


@pytest.mark.parametrize("mode", MODULES)
@pytest.mark.parametrize("every", [1, 5, 7, 40])
def test_nn_modules_equal_the_unchunked_run(mode, every):
    torch.manual_seed(0)
    plain = MODULES[mode](3, 4, num_layers=2, batch_first=True, dtype=torch.float64)
    chunked_m = MODULES[mode](3, 4, num_layers=2, batch_first=True, dtype=torch.float64,
                              checkpoint_every=every)
    chunked_m.load_state_dict(plain.state_dict())
    x = torch.randn(3, 23, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    hx = (h, torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)) if mode == "lstm" \
        else h
    lengths = torch.tensor([23, 11, 4])
    for a, b in zip(_grads(plain, x, hx, lengths=lengths),
                    _grads(chunked_m, x, hx, lengths=lengths)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("mode", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_keras_layers_equal_the_unchunked_run(mode, go_backwards):
    torch.manual_seed(1)
    kw = dict(return_sequences=True, go_backwards=go_backwards)
    plain, ck = LAYERS[mode](5, **kw), LAYERS[mode](5, checkpoint_every=4, **kw)
    plain.build((17, 2))
    ck.build((17, 2))
    plain.double()
    ck.double()
    ck.load_state_dict(plain.state_dict())
    x = torch.randn(2, 17, 2, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(2, 17, dtype=torch.bool)
    mask[1, 12:] = False
    res = []
    for layer in (plain, ck):
        out = layer(x, mask=mask)
        w = torch.cos(torch.arange(out.numel(), dtype=out.dtype)).reshape(out.shape)
        res.append([out] + list(torch.autograd.grad((out * w).sum(), [x, *layer.parameters()])))
    for a, b in zip(*res):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    assert ck.get_config()["checkpoint_every"] == 4 and "checkpoint_every" not in plain.get_config()


def test_gradcheck_through_chunks():
    torch.manual_seed(2)
    m = rnn.GRU(2, 3, dtype=torch.float64, checkpoint_every=3)
    x = torch.randn(8, 2, 2, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x: m(x)[0], (x,))


def _saved_bytes(module, x) -> int:
    """Bytes of the distinct storages autograd keeps for backward."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out, _ = module(x)
    out[-1].sum().backward()
    return sum(seen.values())


def test_memory_kept_for_backward_falls():
    torch.manual_seed(3)
    T, B, H = 2000, 4, 32
    plain = rnn.LSTM(1, H)
    ck = rnn.LSTM(1, H, checkpoint_every=50)
    ck.load_state_dict(plain.state_dict())
    x = torch.randn(T, B, 1)
    full, chunk = _saved_bytes(plain, x), _saved_bytes(ck, x)
    # one pass keeps several (B, H) tensors per step; chunks keep 2 states per chunk
    # (40 chunks) + the input
    assert full > 20 * T * B * H * 4 / 10
    assert chunk < full / 10, (chunk, full)


def test_finite_at_one_hundred_thousand_steps():
    torch.manual_seed(4)
    for cls in (rnn.LSTM, rnn.GRU, rnn.RNN):
        m = cls(1, 4, checkpoint_every=1000)
        x = torch.randn(100_000, 1, 1, requires_grad=True)
        out, _ = m(x)
        out.pow(2).mean().backward()
        assert torch.isfinite(out).all()
        assert torch.isfinite(x.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in m.parameters())


@pytest.mark.parametrize("bad,kind", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                      (True, TypeError)])
def test_bad_checkpoint_every(bad, kind):
    with pytest.raises(kind, match="`checkpoint_every`"):
        rnn.LSTM(1, 2, checkpoint_every=bad)
    with pytest.raises(kind, match="`checkpoint_every`"):
        L.GRU(2, checkpoint_every=bad)
    with pytest.raises(kind, match="`checkpoint_every`"):
        chunked.check_checkpoint_every(bad)


def test_what_chunks_would_change_is_refused():
    x = torch.randn(10, 1, 2)
    with pytest.raises(ValueError, match="bidirectional"):
        rnn.GRU(2, 3, bidirectional=True, checkpoint_every=2)(x)
    m = rnn.LSTM(2, 3, recurrent_dropout=0.2, checkpoint_every=2)
    with pytest.raises(ValueError, match="recurrent_dropout in training"):
        m(x)
    m.eval()
    assert m(x)[0].shape == (10, 1, 3)  # no masks drawn at inference
