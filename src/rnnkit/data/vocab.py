"""Character and word vocabularies: token <-> id maps with padding and unknown tokens.

Id 0 is always the padding token ``<pad>`` (Keras' ``Embedding(mask_zero=True)`` and
``torch.nn.Embedding(padding_idx=0)`` both expect that) and id 1 the unknown token
``<unk>``; optional extra specials (e.g. ``<bos>``, ``<eos>`` for seq2seq) follow, then
the corpus tokens by decreasing frequency (ties broken alphabetically, so the same
corpus always gives the same ids).

Input text may be a str (split into characters or words according to ``level``) or an
already tokenised sequence of str (e.g. CMUdict phonemes), which is used as is.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from rnnkit.data._checks import check_choice, check_int

__all__ = ["Vocab", "PAD", "UNK", "BOS", "EOS", "tokenize"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
# words (with an inner apostrophe: "don't") or single punctuation marks
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")

Text = Union[str, Sequence[str]]


def tokenize(text: Text, level: str = "char", lower: bool = False) -> List[str]:
    """Split ``text`` into tokens: characters, or words and punctuation marks.

    A non-str sequence is taken as already tokenised and returned as a list.
    """
    check_choice("level", level, ("char", "word"))
    if not isinstance(text, str):
        if isinstance(text, (bytes, bytearray)) or not isinstance(text, Sequence) \
                or not all(isinstance(t, str) for t in text):
            raise TypeError(f"text: expected a str or a sequence of str tokens, "
                            f"got {type(text).__name__}")
        return [t.lower() for t in text] if lower else list(text)
    if lower:
        text = text.lower()
    return list(text) if level == "char" else _WORD.findall(text)


class Vocab:
    """Bidirectional token <-> id map.  Build one with :meth:`Vocab.build`.

    ``tokens`` lists every token in id order, specials included (``tokens[0] == PAD``,
    ``tokens[1] == UNK``).
    """

    def __init__(self, tokens: Sequence[str], level: str = "char", lower: bool = False,
                 specials: Sequence[str] = ()) -> None:
        check_choice("level", level, ("char", "word"))
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"tokens: expected {PAD!r}, {UNK!r} as the first two tokens, "
                             f"got {tokens[:2]!r}")
        if len(set(tokens)) != len(tokens):
            dup = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"tokens: expected unique tokens, got duplicates {dup[:10]!r}")
        self.tokens: List[str] = tokens
        self.level, self.lower = level, bool(lower)
        self.specials: List[str] = [PAD, UNK] + [s for s in specials if s not in (PAD, UNK)]
        self._ids: Dict[str, int] = {t: i for i, t in enumerate(tokens)}

    # -- construction ------------------------------------------------------------------
    @classmethod
    def build(cls, texts: Iterable[Text], level: str = "char", min_freq: int = 1,
              max_size: Optional[int] = None, lower: bool = False,
              specials: Sequence[str] = ()) -> "Vocab":
        """Count tokens of ``texts`` and keep those seen at least ``min_freq`` times.

        ``max_size`` caps the total size, specials included.  ``specials`` are extra
        reserved tokens placed right after ``<pad>`` and ``<unk>``.
        """
        if isinstance(texts, str):
            raise TypeError("texts: expected an iterable of texts, got a single str "
                            "(wrap it in a list)")
        min_freq = check_int("min_freq", min_freq, 1)
        reserved = [PAD, UNK] + [s for s in specials if s not in (PAD, UNK)]
        if max_size is not None:
            max_size = check_int("max_size", max_size, len(reserved))
        counts = Counter()
        for text in texts:
            counts.update(tokenize(text, level, lower))
        for s in reserved:
            counts.pop(s, None)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[:max_size - len(reserved)]
        return cls(reserved + ranked, level=level, lower=lower, specials=reserved)

    # -- lookups -----------------------------------------------------------------------
    pad_id = 0
    unk_id = 1

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def token_to_id(self, token: str) -> int:
        return self._ids.get(token, self.unk_id)

    def id_to_token(self, idx: int) -> str:
        idx = check_int("idx", idx, 0)
        if idx >= len(self.tokens):
            raise ValueError(f"idx: expected an id in [0, {len(self.tokens) - 1}], got {idx}")
        return self.tokens[idx]

    # -- encoding ----------------------------------------------------------------------
    def encode(self, text: Text, bos: bool = False, eos: bool = False) -> List[int]:
        """Ids of ``text``'s tokens; unknown ones map to 1.  ``bos``/``eos`` add those
        markers (they must have been given as ``specials``)."""
        ids = [self._ids.get(t, self.unk_id) for t in tokenize(text, self.level, self.lower)]
        for flag, tok in ((bos, BOS), (eos, EOS)):
            if flag and tok not in self._ids:
                raise ValueError(f"{'bos' if tok == BOS else 'eos'}: this vocabulary has no "
                                 f"{tok!r}; build it with specials=[{tok!r}]")
        return ([self._ids[BOS]] if bos else []) + ids + ([self._ids[EOS]] if eos else [])

    def decode(self, ids: Iterable[int], skip_special: bool = True,
               as_tokens: bool = False) -> Union[str, List[str]]:
        """Text of ``ids``: characters concatenated, or words joined by single spaces
        (word-level decoding normalises whitespace).  Special tokens other than
        ``<unk>`` are dropped when ``skip_special``."""
        drop = set(self.specials) - {UNK} if skip_special else set()
        out = []
        for i in ids:
            tok = self.id_to_token(int(i))
            if tok not in drop:
                out.append(tok)
        if as_tokens:
            return out
        return "".join(out) if self.level == "char" else " ".join(out)

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """JSON-able dict; ``Vocab.from_dict`` inverts it."""
        return {"type": "Vocab", "level": self.level, "lower": self.lower,
                "specials": list(self.specials), "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Vocab":
        if not isinstance(d, dict) or d.get("type") != "Vocab" or "tokens" not in d:
            raise ValueError(f"d: expected a dict from Vocab.to_dict(), got "
                             f"{type(d).__name__} with keys {sorted(d) if isinstance(d, dict) else '-'}")
        return cls(d["tokens"], level=d.get("level", "char"), lower=d.get("lower", False),
                   specials=d.get("specials", ()))

    def __repr__(self) -> str:
        return f"Vocab(level={self.level!r}, size={len(self)}, specials={self.specials})"
