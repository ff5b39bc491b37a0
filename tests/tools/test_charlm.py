import numpy as np
import pytest
import torch

from rnnkit import set_random_seed
from rnnkit.tools.charlm import (_stateful, build_charlm, load_charlm, perplexity, sample,
                                 save_charlm, train_charlm)

TEXT = "the cat sat on the mat. " * 60


def test_build_shapes():
    m = build_charlm("gru", 11, units=4, layers=2, embed=3)
    assert [type(la).__name__ for la in m.layers] == ["Embedding", "GRU", "GRU", "Dense"]
    assert m(torch.zeros(2, 7, dtype=torch.long)).shape == (2, 7, 11)   # any length T


def test_uniform_logits_have_perplexity_equal_to_the_vocabulary_size():
    m = build_charlm("rnn", 9, units=2)
    dense = m.layers[-1]
    dense.set_weights([np.zeros((2, 9)), np.zeros(9)])
    ids = np.random.default_rng(0).integers(0, 9, size=300)
    assert perplexity(m, ids, seq_len=16) == pytest.approx(9.0, rel=1e-12)


def test_stateful_steps_give_the_logits_of_the_whole_sequence():
    set_random_seed(0)
    m = build_charlm("lstm", 12, units=5, layers=2).eval()
    ids = torch.randint(0, 12, (1, 9))
    with torch.no_grad():
        whole = m(ids)                                           # (1, 9, 12)
        from_zero = m(ids[:, 4:5])                               # step 5 alone, zero state
        with _stateful(m):
            steps = torch.cat([m(ids[:, :4])] + [m(ids[:, t:t + 1]) for t in range(4, 9)], 1)
        after = m(ids[:, 4:5])
    torch.testing.assert_close(steps, whole, atol=1e-5, rtol=1e-5)
    assert all(not la.stateful for la in m.layers[1:3])          # back to stateless ...
    torch.testing.assert_close(after, from_zero, atol=0, rtol=0)  # ... with no state left over


def test_training_reports_the_perplexity_of_the_held_out_end():
    model, vocab, ppl = train_charlm(TEXT, "gru", units=8, epochs=2, seq_len=16, seed=0)
    assert len(ppl) == 3 and ppl[-1] < ppl[0]
    ids = np.asarray(vocab.encode(TEXT))
    cut = int(len(ids) * 0.9)
    assert perplexity(model, ids[cut:], seq_len=min(128, len(ids) - cut - 1)) == \
        pytest.approx(ppl[-1], rel=1e-5)
    with pytest.raises(ValueError, match="text: expected at least 340 characters"):
        train_charlm("short", seq_len=16)


def test_sample_is_repeatable_and_save_load_keeps_it(tmp_path):
    model, vocab, _ = train_charlm(TEXT, "lstm", units=8, epochs=1, seq_len=16, seed=1)
    a = sample(model, vocab, "the ", 25, temperature=0.7, seed=3)
    assert a == sample(model, vocab, "the ", 25, temperature=0.7, seed=3)
    assert a.startswith("the ") and len(a) == 29 and set(a) <= set(TEXT)
    save_charlm(model, vocab, tmp_path / "c.rnnkit", {"source": "test"})
    again, v2, meta = load_charlm(tmp_path / "c.rnnkit")
    assert v2.tokens == vocab.tokens and meta["source"] == "test"
    assert sample(again, v2, "the ", 25, temperature=0.7, seed=3) == a
    model.save(tmp_path / "plain.rnnkit")
    with pytest.raises(ValueError, match="without a vocabulary; expected a character"):
        load_charlm(tmp_path / "plain.rnnkit")
    with pytest.raises(ValueError, match="temperature"):
        sample(model, vocab, "", 5, temperature=0)
    # issue #10: the vocabulary in the metadata is untrusted input too
    from rnnkit import InvalidModelFile
    short = vocab.to_dict()
    short["tokens"] = short["tokens"][:-1]
    model.save(tmp_path / "short.rnnkit", metadata={**meta, "vocab": short})
    with pytest.raises(InvalidModelFile, match=f"{len(vocab) - 1} tokens"):
        load_charlm(tmp_path / "short.rnnkit")
    model.save(tmp_path / "bad.rnnkit", metadata={**meta, "vocab": {"type": "Vocab",
                                                                    "tokens": 5}})
    with pytest.raises(InvalidModelFile, match="vocabulary is damaged"):
        load_charlm(tmp_path / "bad.rnnkit")
