"""Keras semantics shared by SimpleRNN, LSTM and GRU, and their argument checks."""
import pytest
import torch

from rnnkit.kernels import registry

import rnnkit.layers as L
from rnnkit.layers.recurrent import carry_forward

CLASSES = [L.SimpleRNN, L.LSTM, L.GRU]


def _twin(layer, **changes):
    """A copy of ``layer`` with the same weights and some arguments changed."""
    cfg = dict(layer.get_config(), **changes)
    other = type(layer).from_config(cfg)
    other.maybe_build((None, layer.input_size))
    other.set_weights(layer.get_weights())
    return other


@pytest.mark.parametrize("cls", CLASSES)
def test_go_backwards_equals_running_the_reversed_sequence(cls):
    torch.manual_seed(0)
    back = cls(3, return_sequences=True, go_backwards=True)
    x = torch.randn(2, 5, 2)
    seq = back(x)
    plain = _twin(back, go_backwards=False)
    torch.testing.assert_close(seq, plain(x.flip(1)))  # outputs in processing order, as Keras
    last = _twin(back, return_sequences=False)
    torch.testing.assert_close(last(x), seq[:, -1])


@pytest.mark.parametrize("cls", CLASSES)
def test_stateful_carries_state_and_reset_states_forgets_it(cls):
    torch.manual_seed(1)
    s = cls(3, return_sequences=True, stateful=True)
    x1 = torch.randn(2, 4, 2, requires_grad=True)
    x2 = torch.randn(2, 3, 2)
    s(x1)
    out2 = s(x2)
    plain = _twin(s, stateful=False)
    whole = plain(torch.cat([x1.detach(), x2], dim=1))
    torch.testing.assert_close(out2, whole[:, 4:])
    out2.sum().backward()
    assert x1.grad is None  # the carried state is detached: truncated BPTT
    s.reset_states()
    torch.testing.assert_close(s(x2), plain(x2))
    with pytest.raises(ValueError, match="batch size 2 but `x` has batch size 5"):
        s(torch.randn(5, 3, 2))


def test_reset_states_to_given_values_and_noop_when_not_stateful():
    s = L.LSTM(2, stateful=True)
    x = torch.randn(1, 3, 1)
    s(x)
    h0, c0 = torch.full((1, 2), 0.3), torch.full((1, 2), -0.2)
    s.reset_states([h0, c0])
    assert [t.tolist() for t in s.states] == [h0.tolist(), c0.tolist()]
    torch.testing.assert_close(s(x), _twin(s, stateful=False)(x, initial_state=[h0, c0]))
    L.GRU(2).reset_states()  # models reset every layer; a plain layer ignores it


def test_masked_outputs_repeat_the_previous_output_as_keras():
    out = torch.arange(1.0, 6.0).reshape(5, 1, 1)  # (T, B, u) = 1, 2, 3, 4, 5
    mask = torch.tensor([[False], [True], [False], [False], [True]])
    out = out * mask.unsqueeze(-1)  # the kernels' zeros at masked steps
    assert carry_forward(out, mask).flatten().tolist() == [0.0, 2.0, 2.0, 2.0, 5.0]


@pytest.mark.parametrize("zero_output", [False, True])
def test_right_padding_tail_and_last_output(zero_output):
    torch.manual_seed(2)
    lstm = L.LSTM(3, return_sequences=True, zero_output_for_mask=zero_output)
    x = torch.randn(2, 5, 2)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    seq = lstm(x, mask=mask)
    alone = lstm(x[:1, :3])
    torch.testing.assert_close(seq[0, :3], alone[0])
    tail = torch.zeros(2, 3) if zero_output else alone[0, -1].expand(2, 3)
    torch.testing.assert_close(seq[0, 3:], tail)
    last = _twin(lstm, return_sequences=False, zero_output_for_mask=False)(x, mask=mask)
    torch.testing.assert_close(last[0], alone[0, -1])  # the last valid step's output


def test_masks_flow_as_keras():
    x, mask = torch.zeros(2, 4, 3), torch.ones(2, 4, dtype=torch.bool)
    assert L.LSTM(2, return_sequences=True).compute_mask(x, mask) is mask
    assert L.LSTM(2).compute_mask(x, mask) is None
    assert L.GRU(2, return_sequences=True, return_state=True).compute_mask(x, mask) == [mask, None]
    assert L.SimpleRNN(2).compute_output_shape((4, 3)) == (2,)
    assert L.SimpleRNN(2, return_sequences=True).compute_output_shape((4, 3)) == (4, 2)


def test_dropout_only_in_training_and_seeded():
    torch.manual_seed(3)
    g = L.GRU(4, dropout=0.5, recurrent_dropout=0.3, seed=11)
    x = torch.randn(2, 5, 3)
    g.eval()
    clean = g(x)
    torch.testing.assert_close(g(x), clean)
    assert g.last_choice.kernel != "reference"  # eval: no dropout, a fused kernel runs
    a = g(x, training=True)
    # torch's ops have no recurrent dropout: whatever ran, it was not them.
    assert g.last_choice.kernel != "torch"
    assert registry.choose(g.spec, "auto", mask_kind="none", training=True)[0].name != "torch"
    assert not torch.allclose(a, clean)
    g2 = _twin(g)
    torch.testing.assert_close(g2(x, training=True), a)  # same seed, same masks


def test_backend_choice_and_explicit_backend():
    g = L.GRU(2, reset_after=False, backend="torch")
    with pytest.raises(ValueError, match="reset_after"):
        g(torch.randn(1, 3, 2))
    auto = _twin(g, backend="auto")
    auto(torch.randn(1, 3, 2))
    report = auto.kernel_report()
    assert report.startswith("kernel: ") and not report.startswith("kernel: torch")
    with pytest.raises(ValueError, match="`backend`.*'cuda'"):
        L.LSTM(2, backend="cuda")


# --- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("cls", CLASSES)
def test_bad_constructor_arguments(cls):
    with pytest.raises(ValueError, match="argument `units`, expected a positive integer, got 0"):
        cls(0)
    with pytest.raises(TypeError, match="argument `units`, expected a positive integer, got 3.0"):
        cls(3.0)
    with pytest.raises(ValueError, match=r"`dropout`, expected a float in \[0, 1\), got 1"):
        cls(3, dropout=1)
    with pytest.raises(ValueError, match=r"`recurrent_dropout`.*got -0.5"):
        cls(3, recurrent_dropout=-0.5)
    with pytest.raises(ValueError, match="`activation`.*'tanhh'.*did you mean 'tanh'"):
        cls(3, activation="tanhh")
    with pytest.raises(ValueError, match="`recurrent_initializer`.*did you mean 'orthogonal'"):
        cls(3, recurrent_initializer="orthogonl")
    with pytest.raises(ValueError, match="`zoneout`"):
        cls(3, zoneout=1.5)


def test_bad_gate_activation_and_zoneout_pair():
    with pytest.raises(ValueError, match="`recurrent_activation`.*did you mean 'sigmoid'"):
        L.LSTM(3, recurrent_activation="sigmoidd")
    with pytest.raises(ValueError, match="`zoneout`"):
        L.GRU(3, zoneout=(0.1, 0.2))  # a pair is the LSTM's (z_h, z_c)


@pytest.mark.parametrize("cls", CLASSES)
def test_bad_call_inputs(cls):
    layer = cls(2)
    layer(torch.randn(2, 4, 3))
    with pytest.raises(ValueError, match="`x` has 4 features per step but the layer was built for 3"):
        layer(torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match=r"`x` must be 3-D \(batch, timesteps, features\), got 2-D"):
        layer(torch.randn(4, 3))
    with pytest.raises(TypeError, match="floating"):
        layer(torch.ones(2, 4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"`mask` must have shape .*\(2, 4\), got \(2, 5\)"):
        layer(torch.randn(2, 4, 3), mask=torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"`initial_state`\[0\] must have shape .*\(2, 2\)"):
        layer(torch.randn(2, 4, 3), initial_state=[torch.zeros(3, 2)] * layer._n_states)
    with pytest.raises(ValueError, match="`initial_state` for"):
        layer(torch.randn(2, 4, 3), initial_state=[torch.zeros(2, 2)] * 3)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        cls(2).maybe_build((3,))


# --- issue #10: masks are boolean or exactly 0/1 ---------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_masks_must_be_boolean_or_exactly_zero_one(cls):
    layer = cls(3, return_sequences=True)
    x = torch.randn(2, 4, 1)
    bool_mask = torch.tensor([[True, False, True, True], [True, True, True, False]])
    expected = layer(x, mask=bool_mask)
    for numeric in (bool_mask.float(), bool_mask.long(), bool_mask.double().numpy()):
        torch.testing.assert_close(layer(x, mask=numeric), expected, rtol=0, atol=0)
    for bad in ([[1, 0.3, 1, 1], [1, 1, 1, 1]], [[1, 2, 1, 1], [1, 1, 1, 1]],
                [[1, float("nan"), 1, 1], [1, 1, 1, 1]], [[-1, 1, 1, 1], [1, 1, 1, 1]]):
        with pytest.raises(ValueError, match="exactly 0 and 1"):
            layer(x, mask=torch.tensor(bad))
