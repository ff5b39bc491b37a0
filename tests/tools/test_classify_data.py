import json

import numpy as np
import pytest

from rnnkit.tools.classify_data import (PAD_VALUE, Labelled, Preprocessing, load_labelled,
                                        prepare_classification)


def _numeric(n_per_class=5):
    raw = [np.arange(k + 2, dtype=float).reshape(-1, 1) * (1 + c)
           for c in range(2) for k in range(n_per_class)]
    labels = ["a"] * n_per_class + ["b"] * n_per_class
    return Labelled("long_csv", raw, [f"s{i}" for i in range(len(raw))], labels, ["x"])


def test_scaler_is_fitted_on_training_steps_only_and_padding_is_at_the_end():
    d = _numeric()
    train = np.array([0, 1, 5])                            # sequences of 2, 3 and 2 steps
    prep = Preprocessing.fit(d, train)
    steps = np.concatenate([d.raw[i] for i in train])      # 0 1 | 0 1 2 | 0 2
    assert prep.scaler["offset"] == pytest.approx([steps.mean()])
    assert prep.scaler["scale"] == pytest.approx([steps.std()])
    X = prep.encode([d.raw[0], d.raw[2]])                  # 2 and 4 steps
    assert X.shape == (2, 4, 1) and X.dtype == np.float32
    np.testing.assert_allclose(X[0, :2, 0], (np.array([0, 1]) - steps.mean()) / steps.std(),
                               rtol=1e-6)
    assert (X[0, 2:] == PAD_VALUE).all() and (X[1] != PAD_VALUE).all()


def test_summary_features_by_hand():
    d = Labelled("long_csv", [np.array([[1.0], [3.0]]), np.array([[0.0], [4.0]])],
                 ["p", "q"], ["a", "b"], ["x"])
    prep = Preprocessing.fit(d, np.array([0, 1]))          # mean 2, std sqrt(2.5)
    s = np.sqrt(2.5)
    z = (np.array([1.0, 3.0]) - 2) / s                     # -0.632, 0.632
    np.testing.assert_allclose(prep.summary([d.raw[0]])[0],
                               [z.mean(), z.std(), z[-1], z.min(), z.max()])


def test_preprocessing_survives_json_and_rejects_unknown_labels():
    d = _numeric()
    prep = Preprocessing.fit(d, np.arange(10), columns={"id": "seq", "time": None,
                                                        "label": "y"}, nan_policy="fill")
    back = Preprocessing.from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_array_equal(back.encode(d.raw), prep.encode(d.raw))
    assert back.nan_policy == "fill" and back.columns["id"] == "seq"
    assert back.label_ids(["b", "a"], ["s", "t"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="label: s has the label 'c', which the model was not"):
        back.label_ids(["c"], ["s"])


def test_numeric_labels_sort_as_numbers():
    d = Labelled("long_csv", [np.zeros((2, 1))] * 3, ["a", "b", "c"], ["10", "2", "1"], ["x"])
    assert Preprocessing.fit(d, np.arange(3)).classes == ["1", "2", "10"]


def test_text_input_uses_a_training_vocabulary(tmp_path):
    p = tmp_path / "t.txt"
    lines = [f"{'pos' if i % 2 else 'neg'}\tthe film was {'good' if i % 2 else 'bad'}"
             for i in range(30)]
    p.write_text("\n".join(lines) + "\n")
    data = prepare_classification(load_labelled(p))
    assert data.prep.input == "text" and data.prep.classes == ["neg", "pos"]
    X = data.X["train"]
    assert X.dtype == np.int64 and X.ndim == 2 and (X > 1).all()   # all words known, no pad
    unseen = data.prep.encode(["the film was dull"])
    assert unseen[0, -1] == 1                                       # <unk>
    assert data.summary["train"].shape == (len(X), len(data.prep.vocab["tokens"]))
    np.testing.assert_allclose(data.summary["train"].sum(axis=1), 1.0)


def test_fewer_sequences_than_needed_per_class():
    d = Labelled("long_csv", [np.zeros((2, 1))] * 4, list("abcd"), list("wxyz"), ["x"])
    with pytest.raises(ValueError, match="4 sequences for 4 classes; expected at least 3 "
                                         "sequences per class"):
        prepare_classification(d)
    one = Labelled("long_csv", [np.zeros((2, 1))] * 4, list("abcd"), list("wwww"), ["x"])
    with pytest.raises(ValueError, match="at least 2 classes, got only \\['w'\\]"):
        prepare_classification(one)


def test_order_data_splits_and_encodes(order_data):
    n = {k: len(v) for k, v in order_data.y.items()}
    assert sum(n.values()) == 200 and 38 <= n["val"] <= 42 and 38 <= n["test"] <= 42
    assert order_data.X["train"].shape[1:] == (12, 1)
    assert order_data.summary["test"].shape == (n["test"], 5)
    assert not set(order_data.ids["train"]) & set(order_data.ids["test"])


def test_long_format_options_need_an_id(tmp_path):
    with pytest.raises(ValueError, match="time: given without an id column"):
        load_labelled(tmp_path / "x.txt", time="t")


def test_char_level_text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("".join(f"{'a' if i % 2 else 'b'}\t{'xy' if i % 2 else 'yx'}\n"
                         for i in range(20)))
    data = prepare_classification(load_labelled(p), level="char")
    tokens = data.prep.vocab["tokens"]
    assert set(tokens[2:]) == {"x", "y"}
    enc = data.prep.encode(["xyx"])
    assert [tokens[i] for i in enc[0]] == ["x", "y", "x"]
