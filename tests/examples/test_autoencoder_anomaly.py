"""examples/autoencoder_anomaly.py in smoke mode: the architecture is the seed's, the
injected anomalies are what the docstring says, and the report adds up."""
import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "autoencoder_anomaly.py"


@pytest.fixture(scope="module")
def ae():
    spec = importlib.util.spec_from_file_location("rnnkit_example_ae_test", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_r_peaks_finds_the_beats_of_a_synthetic_trace(ae):
    z = np.zeros(ae.RATE * 10)
    beats = np.arange(40, len(z) - 40, 70)  # 77 bpm at 90 Hz
    z[beats] = 5.0
    z[beats + 1] = 2.0
    assert np.array_equal(ae.r_peaks(z), beats)


@pytest.mark.parametrize("kind", ["spike", "flatline", "time-warp"])
def test_inject_changes_the_beat_as_documented(ae, kind):
    rng = np.random.default_rng(0)
    z = np.sin(np.arange(400) / 3.0)
    x = ae.inject(z, 100, kind, rng, sd=0.5)
    beat = z[100:100 + ae.W]
    changed = np.flatnonzero(x != beat)
    assert x.shape == (ae.W,) and changed.size
    if kind == "spike":  # two neighbouring samples moved by exactly 3 mV / sd = 6
        assert changed.size == 2 and np.allclose(np.abs(x - beat)[changed], 6.0)
    elif kind == "flatline":  # held at the R peak's value for 0.3-0.45 s
        run = x[ae.PRE:ae.PRE + int(0.3 * ae.RATE)]
        assert np.all(run == beat[ae.PRE]) and changed.min() > ae.PRE
    else:  # twice as fast from the R peak on
        assert np.array_equal(x[:ae.PRE], beat[:ae.PRE])
        assert np.array_equal(x[ae.PRE:], z[100 + ae.PRE:100 + ae.PRE + 2 * (ae.W - ae.PRE):2])


def test_smoke_run_reports_found_and_missed_anomalies(ae, capsys):
    res = ae.main(smoke=True)
    out = capsys.readouterr().out
    assert 0.0 <= res["precision"] <= 1.0 and 0.0 <= res["recall"] <= 1.0
    found = [i for kind in ae.KINDS for i in res["found"][kind]]
    assert len(found) + len(res["missed"]) == 9  # 3 of each kind injected in smoke mode
    assert not set(found) & set(res["missed"]) and not set(found) & set(res["false_alarms"])
    assert res["recall"] == pytest.approx(len(found) / 9)
    flagged = len(found) + len(res["false_alarms"])
    assert res["precision"] == pytest.approx(len(found) / flagged if flagged else 0.0)
    assert res["threshold"] > 0 and res["train_loss"][-1] < res["train_loss"][0]
    assert "precision" in out and "recall" in out and all(k in out for k in ae.KINDS)


def test_the_model_is_the_seeds_autoencoder(ae, monkeypatch):
    built = []
    real = ae.Sequential

    def spy(layers, *a, **kw):
        built.append(list(layers))
        return real(layers, *a, **kw)

    monkeypatch.setattr(ae, "Sequential", spy)
    ae.main(smoke=True)
    assert len(built) == 1
    enc, rep, dec, head = built[0]
    assert [type(x).__name__ for x in built[0]] == ["LSTM", "RepeatVector", "LSTM",
                                                    "TimeDistributed"]
    assert not enc.return_sequences and dec.return_sequences and rep.n == ae.W
    assert type(head.layer).__name__ == "Dense" and head.layer.units == 1
