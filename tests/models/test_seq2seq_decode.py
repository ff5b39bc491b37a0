"""Seq2Seq decoding (src/rnnkit/models/seq2seq_decode.py): greedy vs beam search,
scores equal to the model's own log-probability, translate, and argument checks."""
import pytest
import torch

from rnnkit.data import BOS, EOS, Vocab
from rnnkit.models import Seq2Seq
from rnnkit.models.seq2seq import Hypothesis

pytestmark = pytest.mark.usefixtures("one_thread")
V_SRC, V_TGT, EOS_ID = 9, 11, 3
# As in test_seq2seq.py (test modules can't import each other under --import-mode=importlib):
# right-padded sources (lengths 4, 2, 3).
SRC = torch.tensor([[4, 5, 6, 7], [8, 4, 0, 0], [5, 5, 6, 0]])


def _model(cell="lstm", attention="general", seed=0, dtype=torch.float32, **kw):
    torch.manual_seed(seed)
    kw = {"embed_size": 5, "hidden_size": 6, **kw}
    return Seq2Seq(V_SRC, V_TGT, cell=cell, attention=attention, **kw).to(dtype).eval()


def _eos_friendly(cell, attention, seed):
    """An untrained model whose <eos> is likely enough to end hypotheses at various lengths."""
    m = _model(cell, attention, seed=seed, dtype=torch.float32)
    with torch.no_grad():
        m.out.bias[EOS_ID] += 1.5
    return m


@pytest.mark.parametrize("cell,attention", [("lstm", "general"), ("gru", None), ("rnn", "dot")])
def test_greedy_equals_beam_search_of_width_one(cell, attention):
    for seed in range(3):
        m = _eos_friendly(cell, attention, seed)
        greedy = m.greedy_decode(SRC, max_len=8)
        beam = m.beam_search(SRC, beam_size=1, max_len=8)
        assert [[h] for h in greedy] == beam  # same tokens, same score, same finished flag
        assert all(isinstance(h, Hypothesis) for h in greedy)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_is_sorted_scored_as_log_prob_and_never_below_greedy(length_penalty):
    finished_some = False
    for seed in range(4):
        m = _eos_friendly("lstm", "general", seed)
        greedy = m.greedy_decode(SRC, max_len=7, length_penalty=length_penalty)
        beams = m.beam_search(SRC, beam_size=4, max_len=7, length_penalty=length_penalty)
        for b, hyps in enumerate(beams):
            scores = [h.score for h in hyps]
            assert 1 <= len(hyps) <= 4 and scores == sorted(scores, reverse=True)
            assert len({tuple(h.tokens) for h in hyps}) == len(hyps)
            assert hyps[0].score >= greedy[b].score - 1e-6
            for h in hyps:  # the reported score is the model's own log-probability
                tgt = h.tokens + [EOS_ID] if h.finished else h.tokens
                finished_some |= h.finished
                if not tgt:
                    continue
                lp = m.log_prob(SRC[b:b + 1], torch.tensor([tgt])).item()
                assert h.score == pytest.approx(lp / len(tgt) ** length_penalty, abs=1e-4)
                assert 0 not in h.tokens and m.bos_id not in h.tokens and EOS_ID not in h.tokens
    assert finished_some


def test_translate_with_vocabularies():
    src_v = Vocab.build(["abc", "cab"])
    tgt_v = Vocab.build([["A", "B"]], level="word", specials=[BOS, EOS])
    m = Seq2Seq(len(src_v), len(tgt_v), hidden_size=8, bos_id=tgt_v.token_to_id(BOS),
                eos_id=tgt_v.token_to_id(EOS))
    out = m.translate(["ab", "c"], src_v, tgt_v, max_len=4)
    assert len(out) == 2 and all(isinstance(s, str) for s in out)
    assert all(set(s.split()) <= {"A", "B", "<unk>"} for s in out)


@pytest.mark.parametrize("call,err,arg", [
    (lambda m: m.beam_search(SRC, beam_size=0), ValueError, "`beam_size`"),
    (lambda m: m.greedy_decode(SRC, max_len=-1), ValueError, "`max_len`"),
    (lambda m: m.greedy_decode(SRC, length_penalty=-1.0), ValueError, "`length_penalty`"),
    (lambda m: m.translate("abc", None, None), TypeError, "`texts`"),
])
def test_bad_decode_arguments(call, err, arg):
    with pytest.raises(err, match=arg):
        call(_model())
