import numpy as np
import pytest

from rnnkit import set_random_seed
from rnnkit.tools.classifier import (Classifier, build_classifier, epoch_seconds,
                                     fit_classifier)
from rnnkit.tools.classify_data import PAD_VALUE


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_never_changes_a_prediction(order_data, cell):
    set_random_seed(0)
    model = build_classifier(cell, order_data.prep, units=8)
    x = order_data.X["test"][:4]                                   # (4, T, 1), some padded
    longer = np.concatenate([x, np.full((4, 5, 1), PAD_VALUE, np.float32)], axis=1)
    np.testing.assert_allclose(model.predict(longer), model.predict(x), atol=1e-6)
    # a sequence alone (no padding at all) gives the same logits as inside the batch
    L = int((x[0, :, 0] != PAD_VALUE).sum())
    np.testing.assert_allclose(model.predict(x[:1, :L]), model.predict(x[:1]), atol=1e-6)


def test_fit_keeps_the_best_validation_epoch_and_saves_with_its_preprocessing(order_data,
                                                                              tmp_path):
    set_random_seed(0)
    model = build_classifier("gru", order_data.prep, units=8)
    hist = fit_classifier(model, order_data, epochs=3, batch_size=32)
    assert len(hist["loss"]) == 3 and len(hist["epoch_time"]) == 3
    assert hist["best_epoch"] == int(np.argmin(hist["val_loss"])) + 1
    clf = Classifier(model, {"prep": order_data.prep.to_dict(), "cell": "gru"})
    path = tmp_path / "m.rnnkit"
    clf.save(path)
    back = Classifier.load(path)
    X = order_data.X["test"]
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert back.prep.to_dict() == order_data.prep.to_dict()


def test_loading_another_model_kind_is_refused(order_data, tmp_path):
    model = build_classifier("rnn", order_data.prep, units=4)
    path = tmp_path / "plain.rnnkit"
    model.save(path)
    with pytest.raises(ValueError, match="'plain.rnnkit' is a plain Sequential model; expected "
                                         "a classifier"):
        Classifier.load(path)


def test_epoch_seconds_is_the_median_so_a_slow_first_epoch_does_not_count():
    assert epoch_seconds([5.0, 0.10, 0.12, 0.11]) == pytest.approx(0.115)
    assert epoch_seconds([5.0, 0.10, 0.12]) == pytest.approx(0.12)
    with pytest.raises(ValueError, match="at least one timed epoch"):
        epoch_seconds([])
