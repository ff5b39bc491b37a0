r"""Decoding for :class:`rnnkit.models.Seq2Seq`: greedy search, beam search, and
:class:`Hypothesis`, the result of each.

Each step feeds the previous token (``<bos>`` first) and scores the next one::

    logp_t = log_softmax(W_s o_t + b_s)                  # (N, V); N = B (greedy) or B·K (beam)
    logp_t[0] = logp_t[<bos>] = −∞                       # never outputs; not renormalised,
                                                         #   so scores equal Seq2Seq.log_prob
    greedy: y_t = argmax logp_t,  score = Σ_t logp_t[y_t] up to and including <eos>
    beam:   keep the K best prefixes by Σ log p; a finished one continues with padding (log p 0)
    final score = Σ log p / n^α,  n = tokens + 1 for <eos>,  α = ``length_penalty``

The mixin expects its host to provide ``encode``, ``decoder``, ``tgt_embed``,
``readout``, ``out``, ``config``, ``bos_id``, ``eos_id`` and ``_ids`` (see seq2seq.py).
"""
from __future__ import annotations

import contextlib
import math
from typing import NamedTuple, Optional, Sequence

import torch
from torch import Tensor, nn

from rnnkit.cells.base import check_positive_int

__all__ = ["Hypothesis", "Seq2SeqDecodingMixin"]


class Hypothesis(NamedTuple):
    tokens: list      # ids, without <eos>
    score: float      # Σ log p, divided by length ** length_penalty
    finished: bool    # ended with <eos> (else cut at max_len)


class Seq2SeqDecodingMixin:
    """greedy_decode / beam_search / decode / translate; mixed into Seq2Seq."""

    def _step(self, tok: Tensor, state, memory):
        h, state = self.decoder(self.tgt_embed(tok).unsqueeze(1), state)  # (N, 1, H)
        logits, _ = self.readout(h, memory)
        logp = logits[:, 0].log_softmax(-1)  # (N, V)
        # Padding and <bos> are never outputs; not renormalised, so scores match log_prob.
        logp[:, 0] = float("-inf")
        logp[:, self.bos_id] = float("-inf")
        return logp, state

    def _prepare(self, src, max_len, length_penalty):
        src = self._ids(src, "src", self.config["src_vocab_size"])
        if max_len is None:
            max_len = 2 * src.shape[1] + 10
        check_positive_int(max_len, "max_len")
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)) \
                or not length_penalty >= 0:
            raise ValueError(f"`length_penalty` must be a float ≥ 0, got {length_penalty!r}")
        return src, max_len

    def _hyp(self, row: Tensor, raw: float, alpha: float) -> Hypothesis:
        toks = [int(v) for v in row if int(v) != 0]
        finished = self.eos_id in toks
        if finished:
            toks = toks[:toks.index(self.eos_id)]
        n = len(toks) + finished  # <eos> counts as a step
        # Length normalisation (Wu et al. 2016 use ((5+n)/6)^α; plain n^α here).
        return Hypothesis(toks, raw / (n ** alpha if n else 1.0), finished)

    @torch.no_grad()
    def greedy_decode(self, src, *, max_len: Optional[int] = None,
                      length_penalty: float = 0.0) -> list:
        """The argmax token at every step; one :class:`Hypothesis` per source sequence.
        ``max_len`` defaults to 2·S + 10."""
        src, max_len = self._prepare(src, max_len, length_penalty)
        with _eval(self):
            memory, state = self.encode(src)
            B = src.shape[0]
            tok = src.new_full((B,), self.bos_id)
            done = torch.zeros(B, dtype=torch.bool, device=src.device)
            score = torch.zeros(B, dtype=self.out.weight.dtype, device=src.device)
            out = []
            for _ in range(max_len):
                logp, state = self._step(tok, state, memory)
                tok = logp.argmax(-1)  # (B,)
                score = torch.where(done, score, score + logp.gather(1, tok[:, None])[:, 0])
                out.append(torch.where(done, torch.zeros_like(tok), tok))
                done = done | (tok == self.eos_id)
                if bool(done.all()):
                    break
            rows = torch.stack(out, 1).cpu()
        return [self._hyp(rows[b], float(score[b]), length_penalty) for b in range(B)]

    @torch.no_grad()
    def beam_search(self, src, *, beam_size: int = 5, max_len: Optional[int] = None,
                    length_penalty: float = 0.0) -> list:
        """For each source sequence, up to ``beam_size`` hypotheses, best score first.

        The beam is ranked by Σ log p while searching; a finished hypothesis keeps its
        score (it continues only with padding, log p = 0). The final candidates are
        ranked by Σ log p / length^``length_penalty``. The greedy hypothesis always joins
        them: plain beam search can lose the greedy prefix and end worse than greedy.
        """
        src, max_len = self._prepare(src, max_len, length_penalty)
        K = check_positive_int(beam_size, "beam_size")
        greedy = self.greedy_decode(src, max_len=max_len, length_penalty=length_penalty)
        with _eval(self):
            B, V = src.shape[0], self.config["tgt_vocab_size"]
            rep = torch.arange(B, device=src.device).repeat_interleave(K)  # (B·K,)
            memory, state = self.encode(src)
            memory = tuple(m.index_select(0, rep) for m in memory)
            state = _reorder(state, rep)
            dtype = self.out.weight.dtype
            scores = torch.full((B, K), float("-inf"), dtype=dtype, device=src.device)
            scores[:, 0] = 0.0
            hist = src.new_zeros((B * K, 0))
            done = torch.zeros(B * K, dtype=torch.bool, device=src.device)
            frozen = torch.full((V,), float("-inf"), dtype=dtype, device=src.device)
            frozen[0] = 0.0  # a finished beam continues with padding only
            tok = src.new_full((B * K,), self.bos_id)
            for _ in range(max_len):
                logp, state = self._step(tok, state, memory)  # (B·K, V)
                logp = torch.where(done[:, None], frozen, logp)
                cand = (scores.reshape(-1, 1) + logp).reshape(B, K * V)
                scores, idx = cand.topk(K, dim=1)  # (B, K)
                src_beam = (torch.arange(B, device=src.device)[:, None] * K + idx // V).reshape(-1)
                tok = (idx % V).reshape(-1)  # (B·K,)
                hist = torch.cat([hist.index_select(0, src_beam), tok[:, None]], 1)
                state = _reorder(state, src_beam)
                done = done.index_select(0, src_beam) | (tok == self.eos_id)
                if bool(done.all()):
                    break
            hist, scores = hist.cpu(), scores.cpu()
        results = []
        for b in range(B):
            hyps = [self._hyp(hist[b * K + k], float(scores[b, k]), length_penalty)
                    for k in range(K) if math.isfinite(float(scores[b, k]))]
            if all(h.tokens != greedy[b].tokens for h in hyps):
                hyps.append(greedy[b])
            results.append(sorted(hyps, key=lambda h: -h.score)[:K])
        return results

    def decode(self, src, *, beam_size: int = 1, max_len: Optional[int] = None,
               length_penalty: float = 0.0) -> list:
        """The best id list (without ``<eos>``) per source sequence: greedy for beam_size=1."""
        if check_positive_int(beam_size, "beam_size") == 1:
            return [h.tokens for h in self.greedy_decode(src, max_len=max_len,
                                                         length_penalty=length_penalty)]
        return [hs[0].tokens for hs in self.beam_search(src, beam_size=beam_size, max_len=max_len,
                                                         length_penalty=length_penalty)]

    def translate(self, texts: Sequence, src_vocab, tgt_vocab, **decode_kwargs) -> list:
        """Encode ``texts`` with ``src_vocab`` (a :class:`rnnkit.data.Vocab`), decode, and
        return ``tgt_vocab.decode`` of each result (a str)."""
        if isinstance(texts, str):
            raise TypeError("`texts` must be a list of texts, got a single str (wrap it in a list)")
        src = [src_vocab.encode(t) for t in texts]
        return [tgt_vocab.decode(ids) for ids in self.decode(src, **decode_kwargs)]


def _reorder(state, index: Tensor):
    """Select batch entries (axis 1 of each (L, N, H) state tensor)."""
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)


@contextlib.contextmanager
def _eval(model: nn.Module):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)
