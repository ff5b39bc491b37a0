"""Build the labelled short-text set from Debian's `fortunes` package.

Run after fetch_sources.sh:  python scripts/make_datasets/make_fortunes.py

Each fortune file is a list of entries separated by lines holding a single "%"
(strfile(1) format).  The label of an entry is the name of the file it comes from.
We keep six topical, non-offensive files (the Debian `fortunes` package already
moves offensive cookies to the separate `fortunes-off` package, see its
README.Debian.offensive; we skip politics/men-women/ethnic-style files anyway and
drop entries containing a small list of crude words), keep entries of at most
MAX_CHARS characters so they suit a small RNN classifier, and cap each class at
PER_CLASS entries (first ones in file order, so the output is deterministic).
"""
import gzip
import json
import os
import re
from pathlib import Path

WORK = Path(os.environ.get("WORK", "/tmp/rnnkit-src"))
SRC = WORK / "x" / "fortunes" / "usr" / "share" / "games" / "fortunes"
OUT = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "fortunes.json.gz"

CATEGORIES = ["computers", "science", "work", "education", "food", "love"]
MAX_CHARS = 200
PER_CLASS = 600
# Crude words whose entries we drop (a coarse filter, on top of Debian's own split).
BLOCK = re.compile(r"\b(sex\w*|fuck\w*|shit\w*|damn\w*|bitch\w*|whore\w*|rape\w*|"
                   r"nigg\w*|fag\w*|penis|vagina|breasts?|nude|naked|porn\w*|god ?damn)\b",
                   re.IGNORECASE)


def entries(path):
    text = path.read_bytes().decode("utf-8")
    for chunk in re.split(r"^%\n", text, flags=re.MULTILINE):
        chunk = chunk.strip()
        if chunk:
            yield chunk


def main():
    texts, labels = [], []
    for k, cat in enumerate(CATEGORIES):
        kept = [e for e in entries(SRC / cat) if len(e) <= MAX_CHARS and not BLOCK.search(e)]
        kept = kept[:PER_CLASS]
        texts += kept
        labels += [k] * len(kept)
        print(cat, len(kept))
    payload = {"categories": CATEGORIES, "texts": texts, "labels": labels}
    raw = json.dumps(payload, ensure_ascii=False, indent=0).encode("utf-8")
    # mtime=0 keeps reruns byte-identical.
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)
    print(OUT, OUT.stat().st_size, "bytes,", len(texts), "texts")


if __name__ == "__main__":
    main()
