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

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit.nn as rnn
from rnnkit.cells.base import check_positive_int
from rnnkit.models.base import BaseModel
from rnnkit.models.steps import Batch
from rnnkit.training.callback_base import Callback
from rnnkit.util import checks
# Decoding and saving live beside this file; Hypothesis and the format constants are
# re-exported so `from rnnkit.models.seq2seq import Hypothesis` keeps working.
from rnnkit.models.seq2seq_decode import Hypothesis, Seq2SeqDecodingMixin
from rnnkit.models.seq2seq_io import FORMAT, FORMAT_VERSION, WHAT, Seq2SeqSavingMixin  # noqa: F401

__all__ = ["Seq2Seq", "Hypothesis"]

_FAMILIES = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}
_ATTENTION = (None, "dot", "general")
# Fixed by the model itself; anything else in cell_options goes to the rnnkit.nn modules.
_RESERVED = ("input_size", "hidden_size", "num_layers", "batch_first", "bidirectional",
             "proj_size", "stateful", "device", "dtype")


def _prob(value, arg: str, one_ok: bool = True) -> float:
    return checks.probability(value, arg) if one_ok else checks.rate(value, arg)


class Seq2Seq(Seq2SeqDecodingMixin, Seq2SeqSavingMixin, BaseModel, nn.Module):
    """Sequence-to-sequence model; equations in the module docstring. Decoding
    (greedy_decode, beam_search, decode, translate) is in seq2seq_decode.py, save/load
    in seq2seq_io.py.

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
        self._fit_options = dict(_STEP_DEFAULTS)  # train_step(batch)'s, set by fit
        self._draws: Optional[torch.Generator] = None  # scheduled sampling, per rank under DDP
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

    # --- training: through the one Trainer (rnnkit.models.trainer) ---------------------------
    compile = nn.Module.compile  # torch.compile, as before: fit takes its own lr and loss

    def _device_and_dtype(self) -> tuple[torch.device, torch.dtype]:
        return self.out.weight.device, self.out.weight.dtype

    def _integer_inputs(self) -> list:
        return [True]  # src holds token ids

    def _train_one(self, src, tgt, *, teacher_forcing_ratio: float, clip_norm: float,
              generator: Optional[torch.Generator]) -> float:
        _check_clip_norm(clip_norm)
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

    def train_step(self, src, tgt=None, *, teacher_forcing_ratio: float = 1.0,
                   clip_norm: float = 1.0, generator: Optional[torch.Generator] = None):
        """One Adam step on one batch (``self.optimizer``, made by :meth:`fit` or here with
        lr 1e-3); gradients clipped to global norm ``clip_norm`` (0 = no clipping).

        ``train_step(src, tgt, ...)`` returns the batch's mean token loss (a float).
        ``train_step(batch)`` is the Trainer's hook inside :meth:`fit`
        (:class:`rnnkit.models.BaseModel`): ``batch`` is (src, tgt), the options are
        fit's, the draws of scheduled sampling come from the trainer's shuffle
        generator (as the shuffling does), and it returns the epoch's running logs
        ``{"loss": Σ loss·B / Σ B}``."""
        if tgt is None and isinstance(src, Batch):
            trainer = self.trainer
            s, t = _trim(src.x), _trim(src.y)  # (B, S), (B, T): cut to this batch's longest
            strategy = trainer.strategy
            if strategy is not None and strategy.world_size > 1:  # under torchrun
                from rnnkit.distributed.seq2seq import data_parallel_step

                value, n = data_parallel_step(
                    self, trainer.forward, s, t, empty=src.sample_weight is not None,
                    world=strategy.world_size, generator=self._draws, **self._fit_options)
            else:
                value = self._train_one(s, t, generator=trainer.shuffle_generator,
                                        **self._fit_options)
                n = int(s.shape[0])
            return {"loss": trainer.train_loss.update(value, n)}
        return self._train_one(src, tgt, teacher_forcing_ratio=teacher_forcing_ratio,
                               clip_norm=clip_norm, generator=generator)

    def fit(self, src, tgt, *, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
            teacher_forcing_ratio: float = 1.0, clip_norm: float = 1.0, shuffle: bool = True,
            seed: Optional[int] = None, verbose: bool = False) -> dict:
        """Train with Adam (lr ``lr``) on all pairs for ``epochs`` epochs; each batch is cut
        to its own longest sequence. Returns ``{"loss": [mean loss per epoch]}`` (the
        trainer's History is ``self.history``). ``seed`` seeds the shuffle order and the
        scheduled-sampling draws (default: a draw from torch's global RNG)."""
        from rnnkit.distributed import get_strategy

        strategy = get_strategy()  # under torchrun: data-parallel (rnnkit.distributed.seq2seq)
        src, tgt = self._pair(src, tgt)
        check_positive_int(epochs, "epochs")
        check_positive_int(batch_size, "batch_size")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"`lr` must be a positive float, got {lr!r}")
        _prob(teacher_forcing_ratio, "teacher_forcing_ratio")
        _check_clip_norm(clip_norm)
        self._draws = None  # one process: scheduled sampling draws on the shuffle generator
        if strategy.world_size > 1:  # a generator per rank (rnnkit.distributed.seq2seq)
            self._draws = torch.Generator().manual_seed(
                int(torch.randint(0, 2 ** 62, (1,))) + strategy.rank)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=float(lr))
        self._fit_options = {"teacher_forcing_ratio": teacher_forcing_ratio,
                             "clip_norm": clip_norm}
        try:
            history = self.trainer.fit(_Pairs(src, tgt), epochs=epochs, batch_size=batch_size,
                                       shuffle=shuffle, seed=seed, verbose=0,
                                       callbacks=[_PrintEpochs()] if verbose else None)
        finally:
            self._fit_options, self._draws = dict(_STEP_DEFAULTS), None
        return {"loss": list(history.history["loss"])}

    def _distributed_module(self):
        """Under torchrun DDP wraps Seq2Seq's training forward, its loss."""
        from rnnkit.distributed.seq2seq import LossForward

        return LossForward(self)

    def evaluate(self, *args, **kwargs):
        raise NotImplementedError("Seq2Seq has no Keras-style evaluate: its loss is "
                                  "`model.loss(src, tgt)` (mean token cross-entropy)")

    def predict(self, *args, **kwargs):
        raise NotImplementedError("Seq2Seq has no Keras-style predict: use "
                                  "`model.decode(src)` (or translate / beam_search)")

    predict_on_batch = predict


_STEP_DEFAULTS = {"teacher_forcing_ratio": 1.0, "clip_norm": 1.0}


def _check_clip_norm(clip_norm) -> None:
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float)) \
            or not clip_norm >= 0:
        raise ValueError(f"`clip_norm` must be a float ≥ 0 (0 = no clipping), "
                         f"got {clip_norm!r}")


class _Pairs:
    """fit's (src, tgt) pairs as the Trainer's data: per epoch an order (a permutation
    from the trainer's generator when shuffling), then batches of rows (under torchrun
    the trainer's strategy takes this rank's share of each)."""

    def __init__(self, src: Tensor, tgt: Tensor) -> None:
        self.src, self.tgt = src, tgt  # (N, S), (N, T)

    def steps(self, batch_size: int) -> int:
        return -(-int(self.src.shape[0]) // batch_size)

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: Optional[torch.Generator] = None):
        N = int(self.src.shape[0])
        order = torch.randperm(N, generator=generator) if shuffle else torch.arange(N)
        for i in range(0, N, batch_size):
            idx = order[i:i + batch_size].to(self.src.device)
            yield self.src[idx], self.tgt[idx], None, None  # trimmed by the step


class _PrintEpochs(Callback):
    """fit(verbose=True)'s one line per epoch (rank 0's only under torchrun)."""

    rank_zero_only = True

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1}/{self.params['epochs']}  loss {logs['loss']:.4f}")


def _trim(x: Tensor) -> Tensor:
    """Drop the columns that are padding in every row."""
    used = (x != 0).any(0).nonzero()
    return x[:, : int(used.max()) + 1]
