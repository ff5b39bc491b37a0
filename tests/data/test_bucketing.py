"""Length bucketing: every index once, similar lengths together, reproducible."""
import numpy as np
import pytest

from rnnkit.data.bucketing import BucketBatchSampler, bucket_batches


def test_sorted_without_shuffle_hand_computed():
    b = bucket_batches([5, 1, 3, 2, 4, 6, 1], batch_size=3, shuffle=False)
    assert [x.tolist() for x in b] == [[1, 6, 3], [2, 4, 0], [5]]


def test_every_index_once_and_len():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, size=1003)
    s = BucketBatchSampler(lengths, batch_size=16, pool_size=4, seed=1)
    batches = list(s)
    assert len(batches) == len(s)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1003))
    # within-batch spread far below random batching
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1003)[:16]]) for _ in range(50)])
    assert spread < 0.4 * random_spread


def test_drop_last_len_and_seed_reproducible():
    lengths = np.arange(50) % 7
    s = BucketBatchSampler(lengths, 8, pool_size=2, drop_last=True, seed=3)
    batches = list(s)
    assert all(len(b) == 8 for b in batches) and len(batches) == len(s)
    a = bucket_batches(lengths, 8, seed=5)
    b = bucket_batches(lengths, 8, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len(BucketBatchSampler(lengths, 8, shuffle=False, drop_last=True)) == 6


def test_bad_arguments():
    with pytest.raises(ValueError, match="lengths"):
        BucketBatchSampler([1.5, 2], 2)
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler([1, 2], 0)
    with pytest.raises(TypeError, match="seed"):
        BucketBatchSampler([1, 2], 1, seed="x")
