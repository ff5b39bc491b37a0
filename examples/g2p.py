"""Grapheme-to-phoneme conversion on CMUdict with an attentional encoder–decoder.

    python examples/g2p.py [--smoke]

Spelling in, ARPAbet phonemes out (stress digits removed: 39 phonemes, as in
Yao & Zweig 2015): a character LSTM encoder, an LSTM decoder with Luong
"general" attention (rnnkit.models.Seq2Seq), trained on 12,000 of the 20,000
shipped words and scored on 1,000 held-out words by phoneme error rate,
PER = Σ edit distance / Σ reference length, and word error rate (words with
any error). Baseline: each letter read as the phoneme it most often stands
for, learned from the training words whose spelling and pronunciation have
the same length (aligned one to one). About 80 s on a 2-core CPU; ``--smoke``
(or RNNKIT_SMOKE=1) trains on 1,000 words for a few seconds.
"""
import argparse
import os
import re
import time
from collections import Counter, defaultdict

import numpy as np
import torch

from rnnkit import datasets
from rnnkit.data import BOS, EOS, Vocab
from rnnkit.models import Seq2Seq


def edit_distance(a, b) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def error_rates(hyps, refs) -> tuple:
    """(PER, WER) of hypothesis phoneme lists against the references."""
    errors = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    return errors / sum(len(r) for r in refs), float(np.mean([h != r for h, r in zip(hyps, refs)]))


def letter_baseline(words, prons):
    """Each letter -> its most frequent phoneme in the one-to-one aligned training pairs."""
    counts = defaultdict(Counter)
    for w, p in zip(words, prons):
        if len(w) == len(p):
            for ch, ph in zip(w, p):
                counts[ch][ph] += 1
    table = {ch: c.most_common(1)[0][0] for ch, c in counts.items()}
    return lambda word: [table[ch] for ch in word if ch in table]


def main(smoke: bool = False) -> dict:
    start = time.time()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: a second thread only adds OpenMP wake-ups
    try:
        torch.manual_seed(0)
        ds = datasets.load("cmudict")
        words = ds["words"]
        prons = [[re.sub(r"\d", "", p) for p in ps] for ps in ds["phonemes"]]
        order = np.random.default_rng(0).permutation(len(words))
        n_train, n_test = (1000, 200) if smoke else (12000, 1000)
        test, train = order[:n_test], order[n_test:n_test + n_train]
        chars = Vocab.build([words[i] for i in train], level="char")
        phones = Vocab.build([prons[i] for i in train], level="word", specials=[BOS, EOS])
        src = [chars.encode(words[i]) for i in train]
        tgt = [phones.encode(prons[i], eos=True) for i in train]
        model = Seq2Seq(len(chars), len(phones), cell="lstm", attention="general",
                        embed_size=32 if smoke else 64, hidden_size=64 if smoke else 128,
                        bos_id=phones.token_to_id(BOS), eos_id=phones.token_to_id(EOS),
                        dropout=0.0 if smoke else 0.1)
        hist = model.fit(src, tgt, epochs=6 if smoke else 18, batch_size=32 if smoke else 64,
                         lr=3e-3, seed=0)
        train_s = time.time() - start

        test_words, refs = [words[i] for i in test], [prons[i] for i in test]
        test_src = [chars.encode(w) for w in test_words]
        greedy = [phones.decode(ids, as_tokens=True) for ids in model.decode(test_src)]
        beam = [phones.decode(ids, as_tokens=True)
                for ids in model.decode(test_src, beam_size=4, length_penalty=1.0)]
        baseline = letter_baseline([words[i] for i in train], [prons[i] for i in train])
        per, wer = error_rates(greedy, refs)
        per_beam, wer_beam = error_rates(beam, refs)
        per_base, wer_base = error_rates([baseline(w) for w in test_words], refs)
        res = {"per": per, "wer": wer, "per_beam": per_beam, "wer_beam": wer_beam,
               "per_baseline": per_base, "wer_baseline": wer_base,
               "train_loss": hist["loss"], "seconds": time.time() - start,
               "samples": [(w, " ".join(r), " ".join(g)) for w, r, g in
                           zip(test_words[:6], refs[:6], beam[:6])]}
    finally:
        torch.set_num_threads(threads)
    print(f"CMUdict g2p: {len(train)} training / {len(test)} held-out words, "
          f"{len(chars)} characters -> {len(phones)} phoneme ids; "
          f"loss {hist['loss'][0]:.3f} -> {hist['loss'][-1]:.3f} in {train_s:.0f} s")
    print(f"  {'':28} {'PER':>6} {'WER':>6}")
    print(f"  {'seq2seq, greedy':28} {per:6.3f} {wer:6.3f}")
    print(f"  {'seq2seq, beam 4':28} {per_beam:6.3f} {wer_beam:6.3f}")
    print(f"  {'letter-by-letter baseline':28} {per_base:6.3f} {wer_base:6.3f}")
    for w, r, g in res["samples"]:
        print(f"  {w:<14} truth: {r:<24} model: {g}")
    print(f"total {res['seconds']:.0f} s")
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few seconds only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
