"""`--task classify` of rnnkit compare / train / predict / evaluate, run in-process."""
import csv
import io
import json

import numpy as np
import pytest

TINY = ["--epochs", "3", "--units", "4", "-q"]
COLS = ["--id", "seq", "--label", "label", "--time", "t"]


@pytest.fixture
def order_csv(tmp_path):
    """Labelled sequences whose class is the order of a +1 and a -1 event (see
    tests/tools/conftest.py); rows shuffled, so --time orders them."""
    rng = np.random.default_rng(0)
    rows = ["seq,t,x,label"]
    for i in range(90):
        L = int(rng.integers(6, 10))
        x = 0.1 * rng.standard_normal(L)
        a, b = rng.choice(L - 1, size=2, replace=False)
        x[a] += 1.0
        x[b] -= 1.0
        rows += [f"s{i},{t},{x[t]:.5f},{'ab' if a < b else 'ba'}" for t in rng.permutation(L)]
    path = tmp_path / "order.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_help_lists_the_task_and_its_options(cli):
    for cmd in ("compare", "train", "predict", "evaluate"):
        code, out, _ = cli(cmd, "--help")
        assert code == 0 and "--task {forecast,classify}" in out
    assert "--id COL" in cli("compare", "--help")[1] and "--label COL" in cli("train", "--help")[1]


def test_compare_classify_prints_table_headline_and_writes_the_report(cli, order_csv, tmp_path):
    out = tmp_path / "rep"
    code, stdout, err = cli("compare", "--task", "classify", "--data", order_csv, *COLS,
                            "--cells", "rnn", "gru", "--seeds", "2", *TINY, "--out", out)
    assert code == 0, err
    lines = stdout.splitlines()
    for name in ("rnn", "gru", "majority class", "logistic regression (summary features)"):
        assert any(line.startswith(name) for line in lines), name
    res = json.loads((out / "results.json").read_text())
    assert res["winner"] in set(res["cells"]) | set(res["baselines"])
    assert any(line.startswith(res["winner"]) or res["winner"] in line for line in lines)
    assert "McNemar p =" in stdout
    assert f"rnnkit train --task classify --data {order_csv} --id seq --label label --time t " \
           f"--cell {res['recommendation']}" in stdout
    assert (out / "report.html").is_file() and (out / "learning_curves.png").is_file()


def test_train_predict_evaluate_round_trip(cli, order_csv, tmp_path):
    model = tmp_path / "m.rnnkit"
    code, out, err = cli("train", "--task", "classify", "--data", order_csv, *COLS,
                         "--cell", "gru", *TINY, "--out", model)
    assert code == 0, err
    assert "test accuracy" in out and "majority class" in out and model.is_file()

    # predict needs only the model and the data: no --task, no column options
    code, out, err = cli("predict", model, "--data", order_csv)
    assert code == 0, err
    rows = _rows(out)
    assert len(rows) == 90 and list(rows[0]) == ["id", "label", "predicted", "p_ab", "p_ba"]
    for r in rows:
        p = float(r["p_ab"]), float(r["p_ba"])
        assert sum(p) == pytest.approx(1.0) and r["predicted"] == ("ab" if p[0] > p[1] else "ba")

    from rnnkit.tools.classifier import Classifier
    meta = Classifier.load(model).meta
    test_ids = set(meta["test_ids"])
    code, out, err = cli("evaluate", model, "--data", order_csv, "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["sequences"] == len(test_ids) and "held-out test part" in m["scope"]
    by_id = {r["id"]: r for r in rows}
    acc = np.mean([by_id[i]["predicted"] == by_id[i]["label"] for i in test_ids])
    assert m["accuracy"] == pytest.approx(acc)
    assert m["accuracy"] == pytest.approx(meta["test_accuracy"])

    code, out, _ = cli("evaluate", model, "--data", order_csv, "--all", "--json")
    assert json.loads(out)["sequences"] == 90

    # another file (here: the first 30 ids) is scored whole
    text = order_csv.read_text().splitlines()
    keep = {f"s{i}" for i in range(30)}
    other = tmp_path / "other.csv"
    other.write_text("\n".join([text[0]] + [r for r in text[1:] if r.split(",")[0] in keep]))
    code, out, _ = cli("evaluate", model, "--data", other, "--json")
    assert json.loads(out)["sequences"] == 30 and json.loads(out)["scope"].startswith("every")

    code, out, _ = cli("predict", model, "--data", order_csv, "--format", "json")
    assert json.loads(out)[0].keys() == rows[0].keys()


def test_the_stored_nan_policy_is_used_by_predict(cli, tmp_path):
    lines = ["id,x,label"]
    for i in range(30):
        lines += [f"q{i},{'' if i % 3 == 0 else i},{'u' if i % 2 else 'v'}", f"q{i},{i + 1},"
                  f"{'u' if i % 2 else 'v'}"]
    data = tmp_path / "gaps.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.rnnkit"
    code, _, err = cli("train", "--task", "classify", "--data", data, "--id", "id",
                       "--label", "label", "--nan", "fill", *TINY, "--out", model)
    assert code == 0, err
    code, out, err = cli("predict", model, "--data", data)
    assert code == 0, err
    assert len(_rows(out)) == 30
    # the stored policy, not predict's default: asking to raise would have stopped on line 2
    assert json.loads(cli("evaluate", model, "--data", data, "--all", "--json")[1])[
        "sequences"] == 30


def _one_line_error(cli, argv, needle):
    code, out, err = cli(*argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("rows, extra, needle", [
    # ids of one step
    (["seq,t,x,label", "a,1,1,u", "a,2,2,u", "b,1,3,v"], [],
     "--id: 1 id(s) have a single step: 'b' (line 4)"),
    # labels varying within an id
    (["seq,t,x,label", "a,1,1,u", "a,2,2,v", "b,1,3,v", "b,2,3,v"], [],
     "--label: column 'label' must be constant within an id, but id 'a' has 'u' on line 2 "
     "and 'v' on line 3"),
    # a --time column that is not sortable
    (["seq,t,x,label", "a,1,1,u", "a,later,2,u", "b,1,3,v", "b,2,3,v"], [],
     "--time: column 't' is not sortable: expected numbers or dates in every row, got 'later' "
     "on line 3"),
    # fewer sequences than classes need
    (["seq,t,x,label", "a,1,1,u", "a,2,2,u", "b,1,3,v", "b,2,3,v", "c,1,1,w", "c,2,1,w"], [],
     "--label: 3 sequences for 3 classes; expected at least 3 sequences per class"),
])
def test_bad_long_format_input_exits_2_with_one_line(cli, tmp_path, rows, extra, needle):
    data = tmp_path / "bad.csv"
    data.write_text("\n".join(rows) + "\n")
    for cmd in ("compare", "train"):
        line = _one_line_error(cli, [cmd, "--task", "classify", "--data", data, *COLS, *extra,
                                     *TINY, "--out", tmp_path / "o"], needle)
        assert line.startswith(f"rnnkit {cmd}: error: ")


def test_future_on_a_classifier_exits_2(cli, order_csv, tmp_path):
    model = tmp_path / "m.rnnkit"
    assert cli("train", "--task", "classify", "--data", order_csv, *COLS, "--epochs", "1",
               "--units", "2", "-q", "--out", model)[0] == 0
    _one_line_error(cli, ["predict", model, "--data", order_csv, "--future", "3"],
                    "--future forecasts steps past the end of a series, but MODEL is a "
                    "sequence classifier")


@pytest.mark.parametrize("extra, needle", [
    (["--target", "x"], "--target is for forecasting; with --task classify give --label COL"),
    (["--dataset", "sunspots"], "--dataset names a bundled series"),
])
def test_forecasting_options_with_classify_are_refused(cli, order_csv, extra, needle):
    argv = ["train", "--task", "classify", *COLS, *TINY] + extra
    if "--dataset" not in extra:
        argv += ["--data", order_csv]
    _one_line_error(cli, argv, needle)


def test_a_csv_without_id_is_read_as_text_and_says_so(cli, order_csv):
    _one_line_error(cli, ["compare", "--task", "classify", "--data", order_csv, *TINY],
                    "line 1 of")


def test_train_warns_but_saves_when_no_better_than_the_majority_class(cli, tmp_path):
    # identical inputs for every id: nothing to learn, so at best the majority class
    lines = ["id,x,label"] + [f"i{k},{v},{'u' if k % 3 else 'v'}"
                              for k in range(30) for v in (0.5, -0.5)]
    data = tmp_path / "flat.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.rnnkit"
    code, out, err = cli("train", "--task", "classify", "--data", data, "--id", "id",
                         "--label", "label", "--features", "x", "--epochs", "1", "--units",
                         "2", "-q", "--out", model)
    assert code == 0 and model.is_file()
    assert "warning: on validation the model" in err and "always answering 'u'" in err


def test_features_take_commas_or_spaces():
    from types import SimpleNamespace

    from rnnkit.cli.classify import _features

    assert _features(SimpleNamespace(features=["a,b", "c"])) == ["a", "b", "c"]
    assert _features(SimpleNamespace(features="a, b")) == ["a", "b"]
    assert _features(SimpleNamespace(features=None)) is None
