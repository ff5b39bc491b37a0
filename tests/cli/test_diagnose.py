import numpy as np


def test_adding_task_prints_the_table_and_writes_the_plot(cli, tmp_path):
    code, out, err = cli("diagnose", "--task", "adding", "--length", "12", "--steps", "3",
                         "--units", "4", "--cells", "rnn", "gru", "-q", "--out", tmp_path)
    assert code == 0, err
    assert "h1/hT" in out and "rnn trained" in out and "gru trained" in out
    assert (tmp_path / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"
    table = np.genfromtxt(tmp_path / "gradient_flow.csv", delimiter=",", names=True)
    assert len(table) == 12 and (table["rnn_trained"] > 0).all()


def test_saved_model_on_a_csv(cli, series_csv, tmp_path):
    m = tmp_path / "m.rnnkit"
    assert cli("train", "--data", series_csv, "--target", "y", "--window", "6", "--epochs", "1",
               "--units", "4", "-q", "--out", m)[0] == 0
    code, out, err = cli("diagnose", m, "--data", series_csv)
    assert code == 0, err
    assert out.count("\n") >= 7 and "h1/hT" in out


def test_diagnose_needs_model_or_task(cli):
    code, _, err = cli("diagnose")
    assert code == 2 and "--task adding" in err
