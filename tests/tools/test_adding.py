import numpy as np
import pytest

from rnnkit.tools.adding import train_adding


def test_every_step_is_one_fresh_batch_and_evaluations_fall_on_schedule():
    calls = []
    run = train_adding("gru", length=10, steps=7, units=3, batch_size=8, eval_every=3,
                       n_test=20, progress=calls.append)
    assert calls == [1] * 7                               # 7 training batches, no more
    assert run.steps == [3, 6, 7] and len(run.test_mse) == 3
    assert run.norms_init.shape == run.norms_trained.shape == (10,)
    assert not np.array_equal(run.norms_init, run.norms_trained)   # training moved the weights
    assert run.params == 2 * 9 + 3 * 9 + 2 * 9 + 3 + 1   # GRU(3) on 2 inputs + Dense(1)
    again = train_adding("gru", length=10, steps=7, units=3, batch_size=8, eval_every=3,
                         n_test=20)
    assert again.test_mse == run.test_mse                 # seeded: data, weights, order


def test_bad_budget_is_named():
    with pytest.raises(ValueError, match="steps: expected a positive integer"):
        train_adding("rnn", length=5, steps=0)
