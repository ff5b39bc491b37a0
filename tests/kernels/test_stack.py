"""rnnkit.kernels.stack: the one stack engine, seen through a recording
run_direction: what each (layer, direction) receives, in which order, and
which masks come from the generator first."""
import math

import torch

from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.kernels.stack import run_stack


def test_layers_directions_padding_dropout_and_merge():
    spec = RecurrentSpec("mingru", 2, 2, num_layers=2, bidirectional=True, merge_mode="sum",
                         dropout=0.5)
    T, B = 3, 2
    x = torch.arange(T * B * 2, dtype=torch.float64).view(T, B, 2) + 1
    mask = torch.tensor([[1, 1], [1, 0], [0, 0]], dtype=torch.bool)
    x = torch.where(mask.unsqueeze(-1), x, torch.full((), math.nan, dtype=x.dtype))
    seen = []

    def run_direction(spec, w, x, state, mask, *, reverse, training, generator):
        seen.append((w["id"], reverse, x.clone()))
        # a direction's output: its input plus its id, a final state of its id
        return x + w["id"], (torch.full_like(state[0], float(w["id"])),)

    hx = (torch.zeros(4, B, 2, dtype=torch.float64),)
    out, (h_n,) = run_stack(spec, [{"id": k} for k in range(4)], x, hx, mask, training=True,
                            run_direction=run_direction, generator=torch.Generator().manual_seed(0))
    assert [(i, r) for i, r, _ in seen] == [(0, False), (1, True), (2, False), (3, True)]
    zeroed = torch.where(mask.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype))
    assert torch.equal(seen[0][2], zeroed) and torch.equal(seen[1][2], zeroed)  # no NaN read
    layer0 = (zeroed + 0) + (zeroed + 1)  # merge_mode="sum"
    # layer 1's input: layer 0's output times the dropout mask drawn first from the generator
    drop = keep_mask(tuple(layer0.shape), 0.5, layer0, torch.Generator().manual_seed(0))
    layer1_in = torch.where(mask.unsqueeze(-1), layer0 * drop, torch.zeros((), dtype=x.dtype))
    assert torch.equal(seen[2][2], layer1_in)
    torch.testing.assert_close(out, (layer1_in + 2) + (layer1_in + 3), rtol=0, atol=0)
    assert h_n[:, 0, 0].tolist() == [0.0, 1.0, 2.0, 3.0]  # stacked (L*D, B, H) in torch's order
