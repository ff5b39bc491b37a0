"""Seq2Seq, the model (src/rnnkit/models/seq2seq.py): teacher forcing against a
hand-written loop, masks, attention, learning a toy task, and argument checks.
Decoding is tested in test_seq2seq_decode.py, saving in test_seq2seq_io.py."""
import math

import pytest
import torch

from rnnkit.models import Seq2Seq

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
V_SRC, V_TGT, EOS_ID = 9, 11, 3
# Right-padded sources (lengths 4, 2, 3) and targets ending with <eos> (lengths 3, 5, 1).
SRC = torch.tensor([[4, 5, 6, 7], [8, 4, 0, 0], [5, 5, 6, 0]])
TGT = torch.tensor([[4, 9, 3, 0, 0], [5, 6, 7, 8, 3], [3, 0, 0, 0, 0]])


def _model(cell="lstm", attention="general", seed=0, dtype=F64, **kw):
    torch.manual_seed(seed)
    kw = {"embed_size": 5, "hidden_size": 6, **kw}
    return Seq2Seq(V_SRC, V_TGT, cell=cell, attention=attention, **kw).to(dtype).eval()


def _by_hand(m, src, tgt, feed_argmax=False):
    """The model's equations written out step by step on its own modules: per-token
    logits (B, T, V) and attention (B, T, S). ``feed_argmax`` feeds back the argmax
    (teacher_forcing_ratio=0) instead of the truth."""
    mask = src != 0
    h_bar, state = m.encoder(m.src_embed(src), mask=mask)  # (B, S, H)
    if m.config["decoder_cell"] == "lstm" and not isinstance(state, tuple):
        state = (state, torch.zeros_like(state))
    if m.config["decoder_cell"] != "lstm" and isinstance(state, tuple):
        state = state[0]
    B, T = tgt.shape
    tok = torch.full((B,), m.bos_id)
    logits, attns = [], []
    for t in range(T):
        h, state = m.decoder(m.tgt_embed(tok)[:, None], state)
        h = h[:, 0]  # (B, H)
        if m.attention is None:
            o, a = h, torch.zeros(B, src.shape[1], dtype=h.dtype)
        else:
            H = h.shape[1]
            W = m.attn_W.weight if m.attention == "general" else torch.eye(H, dtype=h.dtype)
            score = torch.einsum("bi,ij,bsj->bs", h, W, h_bar)
            score = torch.where(mask, score, torch.tensor(float("-inf"), dtype=h.dtype))
            a = torch.exp(score - score.max(1, keepdim=True).values)
            a = a / a.sum(1, keepdim=True)
            c = torch.einsum("bs,bsj->bj", a, h_bar)
            Wc = m.combine.weight  # (H, 2H) acting on [c ; h]
            o = torch.tanh(c @ Wc[:, :h.shape[1]].T + h @ Wc[:, h.shape[1]:].T)
        z = o @ m.out.weight.T + m.out.bias  # (B, V)
        logits.append(z)
        attns.append(a)
        tok = z.argmax(-1) if feed_argmax else tgt[:, t]
    return torch.stack(logits, 1), torch.stack(attns, 1)


def _ce(logits, tgt):
    logp = logits.log_softmax(-1).gather(-1, tgt[..., None])[..., 0]
    keep = tgt != 0
    return -(logp * keep).sum() / keep.sum()


@pytest.mark.parametrize("cell,dec,attention,kw", [
    ("lstm", None, "general", {}), ("gru", None, "dot", {"num_layers": 2}),
    ("rnn", "lstm", None, {}), ("lstm", "gru", "dot", {"layer_norm": True})])
def test_teacher_forced_loss_and_gradients_equal_a_hand_written_loop(cell, dec, attention, kw):
    m = _model(cell, attention, decoder_cell=dec, **kw)
    loss = m.loss(SRC, TGT)
    ref = _ce(_by_hand(m, SRC, TGT)[0], TGT)
    assert abs(loss.item() - ref.item()) < 1e-12
    params = [p for p in m.parameters()]
    g1 = torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
    g2 = torch.autograd.grad(ref, params, allow_unused=True, materialize_grads=True)
    assert max((a - b).abs().max().item() for a, b in zip(g1, g2)) < 1e-12
    assert any(g.abs().sum() > 0 for g in g1)


def test_teacher_forcing_ratio_zero_feeds_back_the_argmax():
    m = _model("gru", "dot")
    got = m(SRC, TGT, teacher_forcing_ratio=0.0)
    assert (got - _by_hand(m, SRC, TGT, feed_argmax=True)[0]).abs().max() < 1e-12
    assert (got - m(SRC, TGT)).abs().max() > 1e-3  # differs from teacher forcing


def test_partial_teacher_forcing_repeats_with_a_seeded_generator():
    m = _model()
    a = m(SRC, TGT, teacher_forcing_ratio=0.5, generator=torch.Generator().manual_seed(1))
    b = m(SRC, TGT, teacher_forcing_ratio=0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", [None, "dot", "general"])
def test_shapes(cell, attention):
    m = _model(cell, attention, dtype=torch.float32)
    logits, attn = m(SRC, TGT, return_attention=True)
    assert logits.shape == (3, 5, V_TGT) and logits.dtype == torch.float32
    assert attn is None if attention is None else attn.shape == (3, 5, 4)
    (h_bar, keys, mask), _ = m.encode(SRC)
    assert h_bar.shape == keys.shape == (3, 4, 6) and mask.tolist()[1] == [True, True, False, False]
    assert m.log_prob(SRC, TGT).shape == (3,)


def test_attention_sums_to_one_and_ignores_padding():
    m = _model("lstm", "general")
    _, attn = m(SRC, TGT, return_attention=True)  # (B, T, S)
    assert (attn.sum(-1) - 1).abs().max() < 1e-12
    pad = (SRC == 0)[:, None, :].expand_as(attn)
    assert bool((attn[pad] == 0).all()) and bool((attn[~pad] > 0).all())


@pytest.mark.parametrize("attention", ["dot", "general"])
def test_attention_readout_gradcheck(attention):
    m = _model("gru", attention)
    mask = SRC != 0
    h = torch.randn(3, 2, 6, dtype=F64, requires_grad=True)
    h_bar = torch.randn(3, 4, 6, dtype=F64, requires_grad=True)

    def readout(h, h_bar):
        keys = m.attn_W(h_bar) if m.attn_W is not None else h_bar
        logits, a = m.readout(h, (h_bar, keys, mask))
        return logits, a

    assert torch.autograd.gradcheck(readout, (h, h_bar))


def test_padding_changes_nothing_a_sample_alone_would_get():
    """Source masks: each sample's logits in the padded batch equal the sample run alone."""
    m = _model("lstm", "dot")
    batch = m(SRC, TGT)
    for b in range(3):
        s = SRC[b:b + 1, : int((SRC[b] != 0).sum())]
        t = TGT[b:b + 1, : int((TGT[b] != 0).sum())]
        assert (m(s, t)[0] - batch[b, : t.shape[1]]).abs().max() < 1e-12


def _reverse_task(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 6, (n,), generator=g)
    src, tgt = torch.zeros(n, 5, dtype=torch.long), torch.zeros(n, 6, dtype=torch.long)
    for i, L in enumerate(lengths.tolist()):
        s = torch.randint(4, 10, (L,), generator=g)
        src[i, :L], tgt[i, :L], tgt[i, L] = s, s.flip(0), EOS_ID
    return src, tgt


def test_learns_to_reverse_short_sequences():
    torch.manual_seed(0)
    m = Seq2Seq(10, 10, cell="gru", attention="general", embed_size=16, hidden_size=32)
    src, tgt = _reverse_task(1600, seed=0)
    hist = m.fit(src, tgt, epochs=4, batch_size=32, lr=1e-2, seed=0)
    assert hist["loss"][-1] < 0.25 * hist["loss"][0]
    test_src, test_tgt = _reverse_task(200, seed=1)
    want = [[int(v) for v in row if v not in (0, EOS_ID)] for row in test_tgt]
    exact = sum(d == w for d, w in zip(m.decode(test_src), want)) / 200
    assert exact >= 0.9, exact
    beam = sum(d == w for d, w in zip(m.decode(test_src, beam_size=3), want)) / 200
    assert beam >= 0.9, beam


def test_nan_loss_stops_training_before_the_step():
    m = _model(dtype=torch.float32)
    with torch.no_grad():
        m.out.bias[4] = float("nan")
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(FloatingPointError, match="nan"):
        m.train_step(SRC, TGT)
    assert all(torch.equal(a.nan_to_num(), b.detach().nan_to_num())
               for a, b in zip(before, m.parameters()))


def test_cell_options_reach_the_modules():
    m = Seq2Seq(5, 6, cell="lstm", decoder_cell="gru", layer_norm=True, num_layers=2,
                layer_dropout=0.1)
    assert m.encoder.spec.layer_norm and m.decoder.spec.layer_norm
    assert m.encoder.dropout == 0.1 and m.decoder.mode == "gru"


@pytest.mark.parametrize("kwargs,err,arg", [
    ({"cell": "transformer"}, ValueError, "`cell`"),
    ({"decoder_cell": "tcn"}, ValueError, "`decoder_cell`"),
    ({"attention": "additive"}, ValueError, "`attention`"),
    ({"hidden_size": 0}, ValueError, "`hidden_size`"),
    ({"embed_size": 2.5}, TypeError, "`embed_size`"),
    ({"eos_id": 0}, ValueError, "`eos_id`"),
    ({"bos_id": 3}, ValueError, "`bos_id`"),
    ({"dropout": 2.0}, ValueError, "`dropout`"),
    ({"batch_first": False}, ValueError, "`batch_first`"),
    ({"peephol": True}, TypeError, "`cell_options`"),
])
def test_bad_constructor_arguments(kwargs, err, arg):
    with pytest.raises(err, match=arg):
        Seq2Seq(V_SRC, V_TGT, **kwargs)


@pytest.mark.parametrize("call,err,arg", [
    (lambda m: m(SRC.float(), TGT), TypeError, "`src`"),
    (lambda m: m(SRC, TGT + 20), ValueError, r"`tgt` ids must lie in \[0, 11\)"),
    (lambda m: m(SRC[:, :0], TGT), ValueError, "`src`"),
    (lambda m: m(SRC[0], TGT), ValueError, "`src` must be 2-D"),
    (lambda m: m(torch.tensor([[0, 0], [4, 5], [4, 0]]), TGT), ValueError, "`src` row 0"),
    (lambda m: m(SRC[:2], TGT), ValueError, "`src` has 2 sequences but `tgt` has 3"),
    (lambda m: m(SRC, TGT, teacher_forcing_ratio=1.5), ValueError, "`teacher_forcing_ratio`"),
    (lambda m: m("abc", TGT), TypeError, "`src`"),
    (lambda m: m.fit(SRC, TGT, epochs=0), ValueError, "`epochs`"),
    (lambda m: m.fit(SRC, TGT, lr=-1.0), ValueError, "`lr`"),
    (lambda m: m.train_step(SRC, TGT, clip_norm=-1.0), ValueError, "`clip_norm`"),
    (lambda m: m(SRC.numpy().astype("float32"), TGT), TypeError, "`src` must hold integer ids"),
])
def test_bad_call_arguments(call, err, arg):
    with pytest.raises(err, match=arg):
        call(_model(dtype=torch.float32))


def test_lists_of_ids_work_like_padded_tensors():
    m = _model(dtype=torch.float32)
    src_list = [[int(v) for v in row if v] for row in SRC]
    tgt_list = [[int(v) for v in row if v] for row in TGT]
    assert torch.equal(m(src_list, tgt_list), m(SRC, TGT))
    assert math.isfinite(m.loss(src_list, tgt_list).item())
