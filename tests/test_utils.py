"""keras.utils' functions against Keras 3's own."""
import numpy as np
import pytest

import rnnkit as keras_like


def test_to_categorical_matches_keras(keras):
    for labels, n in (([0, 2, 1, 2], None), ([[1], [0]], 3), (np.array([[0, 1], [2, 0]]), 4)):
        np.testing.assert_array_equal(keras_like.utils.to_categorical(labels, n),
                                      keras.utils.to_categorical(labels, n))
    with pytest.raises(ValueError, match="`x` holds label 5 but num_classes=3"):
        keras_like.utils.to_categorical([5], 3)
    with pytest.raises(TypeError, match="integer class labels"):
        keras_like.utils.to_categorical([0.5])


def test_pad_sequences_matches_keras(keras):
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    for kw in ({}, {"maxlen": 4}, {"padding": "post", "truncating": "post", "maxlen": 2},
               {"value": 7}):
        np.testing.assert_array_equal(keras_like.utils.pad_sequences(seqs, **kw),
                                      keras.utils.pad_sequences(seqs, **kw))


def test_set_random_seed_repeats_initial_weights():
    keras_like.utils.set_random_seed(5)
    a = keras_like.layers.Dense(3)(np.ones((1, 2), "float32"))
    keras_like.utils.set_random_seed(5)
    b = keras_like.layers.Dense(3)(np.ones((1, 2), "float32"))
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
