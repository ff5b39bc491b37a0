"""`rnnkit predict` / `evaluate` with a classifier: only the model and the data."""
import csv
import io

import numpy as np


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_text_file_round_trip(cli, tmp_path):
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "fine"], ["awful", "dull", "poor"]
    lines = []
    for i in range(60):
        pos = i % 2 == 0
        lines.append(f"{'pos' if pos else 'neg'}\tthe film was {rng.choice(good if pos else bad)}")
    data = tmp_path / "reviews.txt"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "t.rnnkit"
    code, out, err = cli("train", "--task", "classify", "--data", data, "--cell", "lstm",
                         "--epochs", "2", "--units", "4", "-q", "--out", model)
    assert code == 0, err
    bare = tmp_path / "new.txt"
    bare.write_text("the film was great\nthe film was awful\n")
    code, out, err = cli("predict", model, "--data", bare)
    assert code == 0, err
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["line 1", "line 2"] and "label" not in rows[0]
    code, out, err = cli("evaluate", model, "--data", data)
    assert code == 0 and "accuracy" in out and "held-out test part" in out


def _train(cli, tmp_path, lines):
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.rnnkit"
    code, _, err = cli("train", "--task", "classify", "--data", data, "--id", "id",
                       "--label", "label", "--epochs", "1", "--units", "2", "-q", "--out", model)
    assert code == 0, err
    return model


def test_evaluate_refuses_a_label_the_model_never_saw(cli, tmp_path):
    lines = ["id,x,label"] + [f"i{k},{v},{'u' if k % 2 else 'v'}"
                              for k in range(12) for v in (k, k + 1)]
    model = _train(cli, tmp_path, lines)
    other = tmp_path / "other.csv"
    other.write_text("id,x,label\nz,1,w\nz,2,w\n")
    code, out, err = cli("evaluate", model, "--data", other)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--label: z has the label 'w', which the model was not trained on" in err
    code, out, err = cli("predict", model, "--data", other)       # predicting needs no label
    assert code == 0, err
    assert _rows(out)[0]["label"] == "w" and _rows(out)[0]["predicted"] in ("u", "v")


def test_predict_with_task_classify_on_a_forecaster_is_refused(cli, series_csv, tmp_path):
    model = tmp_path / "f.rnnkit"
    assert cli("train", "--data", series_csv, "--target", "y", "--window", "8", "--epochs", "1",
               "--units", "2", "-q", "--out", model)[0] == 0
    code, _, err = cli("predict", model, "--data", series_csv, "--task", "classify")
    assert code == 2 and "expected a classifier" in err
    code, out, err = cli("predict", model, "--data", series_csv)  # a forecaster stays one
    assert code == 0, err


def test_predict_writes_a_file_with_out(cli, tmp_path):
    lines = ["id,x,label"] + [f"i{k},{v},{'u' if k % 2 else 'v'}"
                              for k in range(12) for v in (k, k + 1)]
    model = _train(cli, tmp_path, lines)
    out_file = tmp_path / "pred.csv"
    code, out, err = cli("predict", model, "--data", tmp_path / "d.csv", "--out", out_file)
    assert code == 0 and out == "" and "wrote 12 predictions" in err
    assert len(_rows(out_file.read_text())) == 12
