import numpy as np
import pytest

from rnnkit.data.stratified import stratified_split


def test_each_class_is_split_in_proportion_and_parts_are_disjoint():
    labels = ["a"] * 50 + ["b"] * 10
    parts = stratified_split(labels, val=0.2, test=0.2, seed=1)
    every = np.concatenate(list(parts.values()))
    assert sorted(every.tolist()) == list(range(60))
    lab = np.array(labels)
    # a: round(10) val, round(10) test, 30 train; b: 2, 2, 6
    assert [(lab[parts[k]] == "a").sum() for k in ("train", "val", "test")] == [30, 10, 10]
    assert [(lab[parts[k]] == "b").sum() for k in ("train", "val", "test")] == [6, 2, 2]


def test_seed_repeats_and_training_keeps_every_class():
    labels = ["a"] * 9 + ["b"] * 2 + ["c"]
    p1, p2 = stratified_split(labels, seed=3), stratified_split(labels, seed=3)
    assert all((p1[k] == p2[k]).all() for k in p1)
    assert set(np.array(labels)[p1["train"]]) == {"a", "b", "c"}


def test_too_few_sequences_and_bad_fractions():
    with pytest.raises(ValueError, match="too few to hold out a val part"):
        stratified_split(["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="val: expected a fraction in \\(0, 1\\), got 1.5"):
        stratified_split(["a"] * 10, val=1.5)
    with pytest.raises(ValueError, match="val \\+ test"):
        stratified_split(["a"] * 10, val=0.5, test=0.5)
