"""Embedding lookups and mask_zero, and Embedding + LSTM on padded batches."""
import pytest
import torch

import rnnkit.layers as L


def test_lookup_init_and_mask():
    torch.manual_seed(0)
    e = L.Embedding(50, 8, mask_zero=True)
    ids = torch.tensor([[3, 7, 0], [0, 0, 49]])
    out = e(ids)
    assert out.shape == (2, 3, 8) and e.count_params() == 400
    (table,) = e.get_weights()
    torch.testing.assert_close(out[0, 1], torch.from_numpy(table[7]))
    assert abs(table).max() <= 0.05 and abs(table).max() > 0.04  # Keras's U(−0.05, 0.05)
    assert e.compute_mask(ids, None).tolist() == [[True, True, False], [False, False, True]]
    assert L.Embedding(5, 2).compute_mask(ids, None) is None
    assert e.compute_output_shape((3,)) == (3, 8)
    torch.testing.assert_close(e(ids.float()), out)  # float ids are cast, as Keras


def test_bad_ids_and_arguments():
    e = L.Embedding(10, 2)
    with pytest.raises(ValueError, match=r"`x` holds id 10 but the layer has input_dim=10"):
        e(torch.tensor([[1, 10]]))
    with pytest.raises(ValueError, match="id -1"):
        e(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match="argument `output_dim`, expected a positive integer"):
        L.Embedding(10, 0)


@pytest.mark.parametrize("padding", ["left", "right"])
def test_mask_zero_lstm_equals_each_sequence_unpadded(padding):
    torch.manual_seed(1)
    seqs = [[4, 2, 6, 1], [3, 5], [1, 1, 2]]
    T = 5
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    for b, s in enumerate(seqs):
        if padding == "left":
            ids[b, T - len(s):] = torch.tensor(s)
        else:
            ids[b, :len(s)] = torch.tensor(s)
    emb = L.Embedding(7, 3, mask_zero=True)
    lstm = L.LSTM(4, return_sequences=True, return_state=True)
    mask = emb.compute_mask(ids, None)
    seq, h, c = lstm(emb(ids), mask=mask)
    for b, s in enumerate(seqs):
        alone_seq, alone_h, alone_c = lstm(emb(torch.tensor([s])))
        n = len(s)
        valid = slice(T - n, T) if padding == "left" else slice(0, n)
        torch.testing.assert_close(seq[b, valid], alone_seq[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(h[b], alone_h[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(c[b], alone_c[0], atol=1e-6, rtol=0)
        if padding == "right":  # Keras: padded steps repeat the last valid output
            torch.testing.assert_close(seq[b, n:], alone_seq[0, -1].expand(T - n, 4))
        else:  # ... and steps before the first valid one are zeros
            assert not seq[b, :T - n].any()
    last = L.LSTM.from_config(dict(lstm.get_config(), return_sequences=False, return_state=False))
    last.maybe_build((T, 3))
    last.set_weights(lstm.get_weights())
    torch.testing.assert_close(last(emb(ids), mask=mask), h, atol=1e-6, rtol=0)
