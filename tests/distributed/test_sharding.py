"""Each rank's slice of a global batch: array_split's rule, empty shares weigh 0."""
import numpy as np
import pytest
import torch

from rnnkit.distributed.sharding import ShardedData, check_batch_size, local_slice
from rnnkit.models.data_adapter import ArrayData


@pytest.mark.parametrize("n,world", [(8, 2), (7, 2), (1, 2), (10, 3), (2, 4)])
def test_local_slice_is_array_split(n, world):
    expected = np.array_split(np.arange(n), world)
    for r in range(world):
        np.testing.assert_array_equal(np.arange(n)[local_slice(n, r, world)], expected[r])


def test_ranks_cover_every_global_batch_once():
    data = ArrayData(torch.arange(9.).reshape(9, 1, 1), torch.arange(9.).reshape(9, 1))
    g = torch.Generator().manual_seed(0)
    seen = []
    for r in range(2):
        g.manual_seed(0)  # every rank draws the same order (rank 0's generator)
        shard = ShardedData(data, r, 2)
        for x, y, w, m in shard.batches(4, shuffle=True, generator=g):
            if shard.count:
                seen += x.flatten().tolist()
            else:  # rank 1's share of the last batch (1 sample) is empty: weight 0
                assert w.tolist() == [0.0] and x.shape[0] == 1
    assert sorted(seen) == list(range(9))


def test_batch_size_must_divide():
    check_batch_size(8, 2)
    with pytest.raises(ValueError, match=r"`batch_size`=9 is the global batch .* 2 processes"):
        check_batch_size(9, 2)
