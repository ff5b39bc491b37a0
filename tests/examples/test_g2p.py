"""examples/g2p.py in smoke mode: error rates are real rates, the model beats the
letter-by-letter baseline, and the helpers compute what they claim."""
import importlib.util
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "g2p.py"


@pytest.fixture(scope="module")
def g2p():
    spec = importlib.util.spec_from_file_location("rnnkit_example_g2p_test", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_edit_distance_and_error_rates(g2p):
    assert g2p.edit_distance(["K", "AE", "T"], ["K", "AA", "T", "S"]) == 2  # 1 sub + 1 ins
    assert g2p.edit_distance([], ["A", "B"]) == 2 and g2p.edit_distance(["A"], ["A"]) == 0
    per, wer = g2p.error_rates([["K", "AE", "T"], ["D", "AO", "G"]],
                               [["K", "AA", "T", "S"], ["D", "AO", "G"]])
    assert per == pytest.approx(2 / 7) and wer == 0.5


def test_letter_baseline_reads_each_letter_as_its_commonest_phoneme(g2p):
    read = g2p.letter_baseline(["cat", "cot", "kit", "ax"], [["K", "AE", "T"], ["K", "AA", "T"],
                                                            ["K", "IH", "T"], ["AE", "K", "S"]])
    # "ax" (2 letters, 3 phonemes) isn't aligned one to one, so it teaches nothing.
    assert read("tack") == ["T", "AE", "K", "K"] and read("x") == []


def test_smoke_run_reports_rates_and_beats_the_baseline(g2p, capsys):
    res = g2p.main(smoke=True)
    out = capsys.readouterr().out
    for key in ("per", "wer", "per_beam", "wer_beam", "per_baseline", "wer_baseline"):
        assert 0.0 <= res[key] <= 1.0, (key, res[key])
    assert res["per"] < res["per_baseline"]  # even a few seconds of training beat the letter rule
    assert res["train_loss"][-1] < res["train_loss"][0]
    assert len(res["samples"]) == 6 and all(w.isalpha() or "'" in w for w, _, _ in res["samples"])
    assert "PER" in out and "baseline" in out and res["samples"][0][0] in out
