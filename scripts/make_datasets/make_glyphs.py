"""Write src/rnnkit/datasets/digit_glyphs_8x8.npz from scikit-learn's digits.csv.gz.

    pip download --no-deps scikit-learn==1.6.1 -d /tmp/skl
    unzip /tmp/skl/scikit_learn-1.6.1-*.whl 'sklearn/datasets/data/digits.csv.gz' -d /tmp/skl
    python scripts/make_datasets/make_glyphs.py /tmp/skl/sklearn/datasets/data/digits.csv.gz

Each CSV row is 64 pixel values (0..16, row-major 8x8) and the label; they are
stored unchanged as uint8 glyphs (1797, 8, 8) and int64 labels (1797,).
"""
import gzip
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "digit_glyphs_8x8.npz"

raw = np.loadtxt(gzip.open(sys.argv[1]), delimiter=",")
assert raw.shape == (1797, 65), raw.shape
np.savez_compressed(OUT, glyphs=raw[:, :64].astype(np.uint8).reshape(-1, 8, 8),
                    labels=raw[:, 64].astype(np.int64))
print("wrote", OUT)
