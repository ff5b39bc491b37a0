r"""Encoder–decoder (Sutskever et al. 2014) with optional Luong attention (Luong et al. 2015).

Token ids, B sequences, S source and T target steps, E embedding, H hidden, V vocabulary::

    e_s      = Emb_src(x_s)                                   # (B, S, E); id 0 = padding
    h̄, st    = Encoder(e, mask = x != 0)                      # (B, S, H); st = state at each
                                                              #   sample's last real step
    d_t      = Emb_tgt(y_{t-1}),  y_0 = <bos>                 # (B, T, E)
    h_t, st  = Decoder(d_t, st)                               # (B, T, H)
    attention=None:      o_t = h_t
    attention="dot":     score_s = h_t · h̄_s
    attention="general": score_s = h_t · (W_a h̄_s)
                         a_t = softmax_s(score, −∞ on padding) # (B, T, S), Σ_s a_ts = 1
                         c_t = Σ_s a_ts h̄_s                   # (B, T, H)
                         o_t = tanh(W_c [c_t ; h_t])           # Luong eq. 5, no bias
    p(y_t | y_<t, x) = softmax(W_s o_t + b_s)                 # (B, T, V)

Encoder and decoder are :mod:`rnnkit.nn` modules (RNN, LSTM or GRU, possibly
different families; extra keywords such as ``layer_norm=True`` go to both).
The decoder has no input feeding, so with full teacher forcing every target
step runs in one fused call; ``teacher_forcing_ratio < 1`` feeds the model's
own argmax instead with probability 1 − ratio per sample and step
(Bengio et al. 2015, scheduled sampling), one step at a time.

Conventions: ``src`` and ``tgt`` are (B, ·) integer ids padded with 0 (or lists
of id lists). ``tgt`` holds the output tokens *ending with* ``<eos>`` and
without ``<bos>`` (the model prepends it). The default ``bos_id=2, eos_id=3``
are those of ``Vocab.build(..., specials=[BOS, EOS])``. Decoders return id
lists without ``<eos>``.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit.nn as rnn
from rnnkit.cells.base import check_positive_int
from rnnkit.training.state import json_field, read_state_file, write_state_file

__all__ = ["Seq2Seq", "Hypothesis"]

FORMAT, FORMAT_VERSION = "rnnkit-seq2seq", "1"
WHAT = "an rnnkit Seq2Seq file (written by Seq2Seq.save)"
_FAMILIES = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}
_ATTENTION = (None, "dot", "general")
# Fixed by the model itself; anything else in cell_options goes to the rnnkit.nn modules.
_RESERVED = ("input_size", "hidden_size", "num_layers", "batch_first", "bidirectional",
             "proj_size", "stateful", "device", "dtype")


class Hypothesis(NamedTuple):
    tokens: list      # ids, without <eos>
    score: float      # Σ log p, divided by length ** length_penalty
    finished: bool    # ended with <eos> (else cut at max_len)


def _prob(value, arg: str, one_ok: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{arg}` must be a float, got {type(value).__name__} {value!r}")
    if not (0.0 <= value <= 1.0) or (value == 1.0 and not one_ok):
        raise ValueError(f"`{arg}` must lie in [0, 1{']' if one_ok else ')'}, got {value}")
    return float(value)


class Seq2Seq(nn.Module):
    """Sequence-to-sequence model; equations in the module docstring.

    Args:
        src_vocab_size, tgt_vocab_size: V_src, V_tgt; id 0 is padding in both.
        cell: encoder family, ``"rnn"``, ``"lstm"`` (default) or ``"gru"``.
        decoder_cell: decoder family (default: the same as ``cell``). Across
            families the decoder starts from the encoder's h (and c = 0 for an
            LSTM decoder after a non-LSTM encoder).
        embed_size: E (default 32). hidden_size: H (default 64). num_layers: default 1.
        attention: None (default), ``"dot"`` or ``"general"`` (Luong et al. 2015).
        bos_id, eos_id: start and end tokens of the target vocabulary (default 2, 3).
        dropout: on embeddings and o_t while training (default 0).
        **cell_options: passed to both :mod:`rnnkit.nn` modules (``layer_norm``,
            ``dropout`` between layers is spelt ``layer_dropout`` here, ...).

    Example::

        >>> m = Seq2Seq(10, 12, cell="gru", attention="dot", hidden_size=16)
        >>> m(torch.tensor([[4, 5, 0]]), torch.tensor([[6, 3]])).shape
        torch.Size([1, 2, 12])
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, *, cell: str = "lstm",
                 decoder_cell: Optional[str] = None, embed_size: int = 32, hidden_size: int = 64,
                 num_layers: int = 1, attention: Optional[str] = None, bos_id: int = 2,
                 eos_id: int = 3, dropout: float = 0.0, **cell_options) -> None:
        super().__init__()
        for arg, v in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size),
                       ("embed_size", embed_size), ("hidden_size", hidden_size),
                       ("num_layers", num_layers)):
            check_positive_int(v, arg)
        decoder_cell = cell if decoder_cell is None else decoder_cell
        for arg, v in (("cell", cell), ("decoder_cell", decoder_cell)):
            if v not in _FAMILIES:
                raise ValueError(f"`{arg}` must be one of {sorted(_FAMILIES)}, got {v!r}")
        if attention not in _ATTENTION:
            raise ValueError(f"`attention` must be one of {list(_ATTENTION)}, got {attention!r}")
        for arg, v in (("bos_id", bos_id), ("eos_id", eos_id)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"`{arg}` must be an int, got {type(v).__name__} {v!r}")
            if not 1 <= v < tgt_vocab_size:
                raise ValueError(f"`{arg}` must be a target id in [1, {tgt_vocab_size}) "
                                 f"(0 is padding), got {v}")
        if bos_id == eos_id:
            raise ValueError(f"`bos_id` and `eos_id` must differ, both are {bos_id}")
        bad = sorted(set(cell_options) & set(_RESERVED))
        if bad:
            raise ValueError(f"`{bad[0]}` is set by Seq2Seq itself and can't be passed as a "
                             f"cell option (reserved: {list(_RESERVED)})")
        opts = dict(cell_options)
        if "layer_dropout" in opts:
            opts["dropout"] = opts.pop("layer_dropout")
        self.config = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size,
                           cell=cell, decoder_cell=decoder_cell, embed_size=embed_size,
                           hidden_size=hidden_size, num_layers=num_layers, attention=attention,
                           bos_id=bos_id, eos_id=eos_id,
                           dropout=_prob(dropout, "dropout", one_ok=False),
                           **cell_options)
        self.bos_id, self.eos_id, self.attention = bos_id, eos_id, attention
        self.metadata: Optional[dict] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.src_embed = nn.Embedding(src_vocab_size, embed_size, padding_idx=0)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_size, padding_idx=0)
        try:
            self.encoder = _FAMILIES[cell](embed_size, hidden_size, num_layers, batch_first=True,
                                           **opts)
            self.decoder = _FAMILIES[decoder_cell](embed_size, hidden_size, num_layers,
                                                   batch_first=True, **opts)
        except TypeError as e:  # an unknown keyword: say where it came from
            raise TypeError(f"`cell_options` {sorted(cell_options)} don't fit rnnkit.nn: "
                            f"{e}") from None
        self.attn_W = nn.Linear(hidden_size, hidden_size, bias=False) \
            if attention == "general" else None
        self.combine = nn.Linear(2 * hidden_size, hidden_size, bias=False) if attention else None
        self.out = nn.Linear(hidden_size, tgt_vocab_size)
        self.drop = nn.Dropout(dropout)

    # --- input checks -----------------------------------------------------------------------
    def _ids(self, x, arg: str, vocab: int) -> Tensor:
        """(B, L) int64 ids on the model's device, from a tensor, an array or id lists."""
        if isinstance(x, np.ndarray) and x.dtype == object:  # ragged id lists
            x = list(x)
        if isinstance(x, (list, tuple)):
            if not x or not all(isinstance(s, (list, tuple, np.ndarray, Tensor)) for s in x):
                kinds = [type(s).__name__ for s in x[:3]]
                raise TypeError(f"`{arg}` must be a (B, L) integer tensor or a non-empty list of "
                                f"id lists, got {type(x).__name__} of {kinds}")
            L = max(len(s) for s in x)
            x = torch.tensor([list(map(int, s)) + [0] * (L - len(s)) for s in x], dtype=torch.long)
        elif isinstance(x, np.ndarray):
            if not np.issubdtype(x.dtype, np.integer):
                raise TypeError(f"`{arg}` must hold integer ids, got an array of dtype {x.dtype}")
            x = torch.from_numpy(x)
        if not isinstance(x, Tensor):
            raise TypeError(f"`{arg}` must be a (B, L) integer tensor, array or list of id "
                            f"lists, got {type(x).__name__}")
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"`{arg}` must hold integer ids, got dtype {x.dtype}")
        if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"`{arg}` must be 2-D (batch, steps) and non-empty, got shape "
                             f"{tuple(x.shape)}")
        if int(x.min()) < 0 or int(x.max()) >= vocab:
            raise ValueError(f"`{arg}` ids must lie in [0, {vocab}), got min {int(x.min())} "
                             f"and max {int(x.max())}")
        empty = (x != 0).sum(1) == 0
        if bool(empty.any()):
            raise ValueError(f"`{arg}` row {int(empty.nonzero()[0])} is all padding; every "
                             "sequence needs at least one token")
        return x.long().to(self.out.weight.device)

    def _pair(self, src, tgt) -> tuple[Tensor, Tensor]:
        src = self._ids(src, "src", self.config["src_vocab_size"])
        tgt = self._ids(tgt, "tgt", self.config["tgt_vocab_size"])
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(f"`src` has {src.shape[0]} sequences but `tgt` has {tgt.shape[0]}")
        return src, tgt

    # --- the model --------------------------------------------------------------------------
    def encode(self, src: Tensor):
        """src (B, S) -> memory (h̄ (B, S, H), keys (B, S, H), mask (B, S)) and the decoder's
        initial state."""
        mask = src != 0  # (B, S)
        h_bar, state = self.encoder(self.drop(self.src_embed(src)), mask=mask)  # (B, S, H)
        keys = self.attn_W(h_bar) if self.attn_W is not None else h_bar  # W_a h̄_s
        enc_lstm, dec_lstm = isinstance(state, tuple), self.config["decoder_cell"] == "lstm"
        if enc_lstm and not dec_lstm:
            state = state[0]
        elif dec_lstm and not enc_lstm:
            state = (state, torch.zeros_like(state))
        return (h_bar, keys, mask), state

    def readout(self, h: Tensor, memory) -> tuple[Tensor, Optional[Tensor]]:
        """Decoder outputs h (B, T, H) -> logits (B, T, V) and attention a (B, T, S) or None."""
        if self.attention is None:
            return self.out(self.drop(h)), None
        h_bar, keys, mask = memory
        score = torch.bmm(h, keys.transpose(1, 2))  # (B, T, S)
        a = score.masked_fill(~mask.unsqueeze(1), float("-inf")).softmax(-1)  # (B, T, S)
        c = torch.bmm(a, h_bar)  # (B, T, H)
        o = torch.tanh(self.combine(torch.cat([c, h], -1)))  # (B, T, H)
        return self.out(self.drop(o)), a

    def forward(self, src, tgt, *, teacher_forcing_ratio: float = 1.0,
                generator: Optional[torch.Generator] = None, return_attention: bool = False):
        """Logits (B, T, V) for ``tgt`` (and attention (B, T, S) with ``return_attention``)."""
        src, tgt = self._pair(src, tgt)
        ratio = _prob(teacher_forcing_ratio, "teacher_forcing_ratio")
        memory, state = self.encode(src)
        B, T = tgt.shape
        dec_in = torch.cat([tgt.new_full((B, 1), self.bos_id), tgt[:, :-1]], 1)  # (B, T)
        if ratio == 1.0:
            h, _ = self.decoder(self.drop(self.tgt_embed(dec_in)), state)  # (B, T, H)
            logits, attn = self.readout(h, memory)
        else:
            steps, attns, tok = [], [], dec_in[:, 0]
            for t in range(T):
                h, state = self.decoder(self.drop(self.tgt_embed(tok)).unsqueeze(1), state)
                lt, at = self.readout(h, memory)  # (B, 1, V), (B, 1, S)
                steps.append(lt)
                attns.append(at)
                if t + 1 < T:
                    use_truth = torch.rand(B, generator=generator).to(tgt.device) < ratio
                    tok = torch.where(use_truth, dec_in[:, t + 1], lt[:, 0].argmax(-1))
            logits = torch.cat(steps, 1)
            attn = torch.cat(attns, 1) if self.attention else None
        return (logits, attn) if return_attention else logits

    def log_prob(self, src, tgt) -> Tensor:
        """(B,) Σ_t log p(tgt_t | tgt_<t, src) over the non-padding steps of ``tgt``."""
        src, tgt = self._pair(src, tgt)
        logp = self(src, tgt).log_softmax(-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)  # (B, T)
        return torch.where(tgt != 0, logp, torch.zeros_like(logp)).sum(1)

    def loss(self, src, tgt, *, teacher_forcing_ratio: float = 1.0,
             generator: Optional[torch.Generator] = None) -> Tensor:
        """Mean cross-entropy per target token (padding excluded)."""
        src, tgt = self._pair(src, tgt)
        logits = self(src, tgt, teacher_forcing_ratio=teacher_forcing_ratio, generator=generator)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                               ignore_index=0)

    # --- training ---------------------------------------------------------------------------
    def train_step(self, src, tgt, *, teacher_forcing_ratio: float = 1.0, clip_norm: float = 1.0,
                   generator: Optional[torch.Generator] = None) -> float:
        """One Adam step on one batch (``self.optimizer``, made by :meth:`fit` or here with
        lr 1e-3); gradients clipped to global norm ``clip_norm`` (0 = no clipping)."""
        if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float)) \
                or not clip_norm >= 0:
            raise ValueError(f"`clip_norm` must be a float ≥ 0 (0 = no clipping), "
                             f"got {clip_norm!r}")
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        self.train()
        loss = self.loss(src, tgt, teacher_forcing_ratio=teacher_forcing_ratio, generator=generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the training loss is {loss.item()}; lower the learning "
                                     "rate or check the data (no step was taken)")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm:
            nn.utils.clip_grad_norm_(self.parameters(), clip_norm)
        self.optimizer.step()
        return loss.item()

    def fit(self, src, tgt, *, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
            teacher_forcing_ratio: float = 1.0, clip_norm: float = 1.0, shuffle: bool = True,
            seed: Optional[int] = None, verbose: bool = False) -> dict:
        """Train with Adam (lr ``lr``) on all pairs for ``epochs`` epochs; each batch is cut
        to its own longest sequence. Returns ``{"loss": [mean loss per epoch]}``."""
        src, tgt = self._pair(src, tgt)
        check_positive_int(epochs, "epochs")
        check_positive_int(batch_size, "batch_size")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"`lr` must be a positive float, got {lr!r}")
        _prob(teacher_forcing_ratio, "teacher_forcing_ratio")
        gen = torch.Generator()
        gen.manual_seed(int(torch.randint(0, 2 ** 62, (1,))) if seed is None else int(seed))
        self.optimizer = torch.optim.Adam(self.parameters(), lr=float(lr))
        history: dict = {"loss": []}
        N, was_training = src.shape[0], self.training
        for epoch in range(epochs):
            order = torch.randperm(N, generator=gen) if shuffle else torch.arange(N)
            total = 0.0
            for i in range(0, N, batch_size):
                idx = order[i:i + batch_size].to(src.device)
                s, t = _trim(src[idx]), _trim(tgt[idx])
                total += self.train_step(s, t, teacher_forcing_ratio=teacher_forcing_ratio,
                                         clip_norm=clip_norm, generator=gen) * len(idx)
            history["loss"].append(total / N)
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}  loss {total / N:.4f}")
        self.train(was_training)
        return history

    # --- decoding ---------------------------------------------------------------------------
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

    # --- saving -----------------------------------------------------------------------------
    def save(self, path, metadata: Optional[dict] = None) -> None:
        """One safetensors file: weights + JSON config (+ JSON ``metadata``, e.g. vocabularies),
        written atomically. :meth:`load` reads it back without unpickling."""
        try:
            header = {"format_version": FORMAT_VERSION, "config": json.dumps(self.config),
                      "metadata": json.dumps(metadata)}
        except TypeError as e:
            raise TypeError(f"the config and `metadata` must be JSON-able to save ({e}); pass "
                            "activations by name") from None
        if os.path.isdir(os.fspath(path)):
            raise ValueError(f"`path` {os.fspath(path)!r} is a directory; give a file name")
        tensors = {f"model/{k}": v for k, v in self.state_dict().items()}
        write_state_file(path, tensors, FORMAT, header)

    @classmethod
    def load(cls, path) -> "Seq2Seq":
        header, tensors = read_state_file(path, FORMAT, WHAT)
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{os.fspath(path)!r} has format version "
                             f"{header.get('format_version')!r}; expected {FORMAT_VERSION}")
        model = cls(**json_field(header, "config", path, WHAT))
        weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
        own = model.state_dict()
        wrong = sorted(set(own) ^ set(weights)) + sorted(
            k for k in own if k in weights and weights[k].shape != own[k].shape)
        if wrong:
            raise ValueError(f"{os.fspath(path)!r} doesn't fit its own config: {wrong}")
        model.load_state_dict(weights)
        model.metadata = json_field(header, "metadata", path, WHAT)
        return model.eval()


def _trim(x: Tensor) -> Tensor:
    """Drop the columns that are padding in every row."""
    used = (x != 0).any(0).nonzero()
    return x[:, : int(used.max()) + 1]


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
