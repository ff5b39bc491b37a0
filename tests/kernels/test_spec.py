"""rnnkit.kernels.spec: derived sizes, and bad fields rejected when the spec is built."""
import pytest

from rnnkit.kernels.spec import RecurrentSpec


def test_sizes():
    s = RecurrentSpec("lstm", 3, 5, num_layers=2, bidirectional=True, proj_size=2)
    assert (s.num_directions, s.state_size, s.output_size, s.n_states) == (2, 2, 4, 2)
    assert (s.layer_input_size(0), s.layer_input_size(1)) == (3, 4)
    s = RecurrentSpec("gru", 3, 5, num_layers=2, bidirectional=True, merge_mode="sum")
    assert (s.state_size, s.output_size, s.layer_input_size(1), s.n_states) == (5, 5, 5, 1)


def test_default_activations():
    assert RecurrentSpec("rnn", 3, 5, activation="relu").uses_default_activations()
    assert RecurrentSpec("lstm", 3, 5).uses_default_activations()
    assert not RecurrentSpec("lstm", 3, 5, recurrent_activation="hard_sigmoid").uses_default_activations()
    assert not RecurrentSpec("gru", 3, 5, activation="relu").uses_default_activations()


def test_regularised_in_training():
    assert not RecurrentSpec("lstm", 3, 5, dropout=0.5).regularised_in_training()
    for name in ("input_dropout", "recurrent_dropout", "zoneout_h", "zoneout_c", "dropconnect"):
        assert RecurrentSpec("lstm", 3, 5, **{name: 0.1}).regularised_in_training()


@pytest.mark.parametrize("kw,arg", [
    (dict(mode="cnn"), "mode"), (dict(hidden_size=0), "hidden_size"),
    (dict(input_size=-1), "input_size"), (dict(num_layers=0), "num_layers"),
    (dict(merge_mode="max"), "merge_mode"),
    (dict(bidirectional=True, merge_mode=None, num_layers=2), "merge_mode"),
    (dict(mode="gru", proj_size=2), "proj_size"), (dict(proj_size=5), "proj_size"),
    (dict(mode="gru", peephole=True), "peephole"), (dict(mode="rnn", zoneout_c=0.1), "zoneout_c"),
    (dict(dropout=1.0), "dropout"), (dict(recurrent_dropout=-0.1), "recurrent_dropout"),
    (dict(zoneout_h=1.5), "zoneout_h"), (dict(dropconnect=1.0), "dropconnect"),
    (dict(input_dropout=2.0), "input_dropout"), (dict(activation="nope"), "activation"),
    (dict(recurrent_activation="nope"), "recurrent_activation"),
])
def test_bad_fields(kw, arg):
    args = dict(mode="lstm", input_size=3, hidden_size=5)
    args.update(kw)
    with pytest.raises(ValueError, match=f"`{arg}`"):
        RecurrentSpec(**args)
