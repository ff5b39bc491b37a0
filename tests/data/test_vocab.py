"""Vocab: ids, round trips, persistence, errors."""
import json

import pytest

from rnnkit.data.vocab import BOS, EOS, PAD, UNK, Vocab, tokenize


def test_char_vocab_ids_hand_computed():
    v = Vocab.build(["abba", "cab"])
    # counts a:3 b:3 c:1 -> ties by alphabet
    assert v.tokens == [PAD, UNK, "a", "b", "c"]
    assert v.pad_id == 0 and v.unk_id == 1
    assert v.encode("cabz") == [4, 2, 3, 1]


def test_char_round_trip():
    texts = ["Hello, world!", "It is a truth universally acknowledged"]
    v = Vocab.build(texts)
    for t in texts:
        assert v.decode(v.encode(t)) == t


def test_word_vocab_and_round_trip_normalises_spaces():
    v = Vocab.build(["the cat sat", "the dog  sat!"], level="word")
    assert v.tokens[:4] == [PAD, UNK, "sat", "the"]
    assert v.decode(v.encode("the  cat sat!")) == "the cat sat !"
    assert v.decode(v.encode("the bird")) == "the <unk>"


def test_pretokenised_sequences_and_specials():
    v = Vocab.build([["AH0", "V"], ["V", "ER1"]], specials=[BOS, EOS])
    assert v.tokens[:4] == [PAD, UNK, BOS, EOS]
    ids = v.encode(["V", "AH0"], bos=True, eos=True)
    assert ids[0] == 2 and ids[-1] == 3
    assert v.decode(ids, as_tokens=True) == ["V", "AH0"]
    assert v.decode(ids, skip_special=False, as_tokens=True) == [BOS, "V", "AH0", EOS]


def test_min_freq_max_size_lower():
    v = Vocab.build(["aaB", "b"], min_freq=2, lower=True)
    assert v.tokens == [PAD, UNK, "a", "b"]
    v = Vocab.build(["aaab"], max_size=3)
    assert v.tokens == [PAD, UNK, "a"]


def test_dict_round_trip_is_json():
    v = Vocab.build(["x y z", "x"], level="word", specials=[EOS])
    v2 = Vocab.from_dict(json.loads(json.dumps(v.to_dict())))
    assert v2.tokens == v.tokens and v2.level == "word" and v2.specials == v.specials
    assert v2.encode("x q", eos=True) == v.encode("x q", eos=True)


def test_errors():
    v = Vocab.build(["ab"])
    with pytest.raises(ValueError, match="bos"):
        v.encode("a", bos=True)
    with pytest.raises(ValueError, match="idx"):
        v.decode([99])
    with pytest.raises(TypeError, match="texts"):
        Vocab.build("abc")
    with pytest.raises(ValueError, match="level"):
        Vocab.build(["a"], level="byte")
    with pytest.raises(TypeError, match="text"):
        tokenize(123)
    with pytest.raises(ValueError, match="tokens"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="d:"):
        Vocab.from_dict({"tokens": []})
