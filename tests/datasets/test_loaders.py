"""Contents of each bundled dataset: shapes, ranges, known values."""
import numpy as np

from rnnkit import datasets


def test_sunspots_309_years_1700_2008():
    ds = datasets.load("sunspots")
    year, s = ds["year"], ds["sunspots"]
    assert year.shape == s.shape == (309,)
    assert year[0] == 1700 and year[-1] == 2008
    assert np.all(np.diff(year) == 1)
    assert s[:3].tolist() == [5.0, 11.0, 16.0]       # first rows of statsmodels' CSV
    assert s[-1] == 2.9 and (s >= 0).all()


def test_airline_144_months_box_jenkins_values():
    ds = datasets.load("airline")
    m, p = ds["month"], ds["passengers"]
    assert m.shape == p.shape == (144,)
    assert str(m[0]) == "1949-01" and str(m[-1]) == "1960-12"
    assert p[:3].tolist() == [112.0, 118.0, 132.0] and p[-1] == 432.0
    assert p.sum() == 40363.0                      # total of Box & Jenkins series G
    frame = ds.to_frame()
    assert list(frame.columns) == ["month", "passengers"] and len(frame) == 144


def test_ecg_matches_scipy_reference_statistics():
    ds = datasets.load("ecg")
    ecg = ds["ecg"]
    assert ecg.shape == (108000,) and ds["sample_rate"] == 360
    # scipy.misc.electrocardiogram docstring: first values and mean/std
    assert np.allclose(ecg[:3], [-0.245, -0.215, -0.185])
    assert abs(ecg.mean() - (-0.16510875)) < 1e-6
    assert abs(ecg.std() - 0.5992473991177294) < 1e-9
    assert ds["time"][-1] == (108000 - 1) / 360


def test_novel_text():
    text = datasets.load("pride_and_prejudice")["text"]
    assert text.startswith("PRIDE AND PREJUDICE")
    assert "It is a truth universally acknowledged" in text
    assert len(text) > 600_000 and text.count("\n") > 13000
    assert "Chapter 61" in text


def test_fortunes_labels_and_classes():
    ds = datasets.load("fortunes")
    texts, labels, cats = ds["texts"], ds["labels"], ds["categories"]
    assert cats == ["computers", "science", "work", "education", "food", "love"]
    assert len(texts) == len(labels) == 2035
    assert set(labels.tolist()) == set(range(6))
    assert all(0 < len(t) <= 200 for t in texts)
    assert len(datasets.load("fortunes").to_frame()) == 2035


def test_cmudict_subset():
    ds = datasets.load("cmudict")
    words, phon = ds["words"], ds["phonemes"]
    assert len(words) == len(phon) == 20000 == len(set(words))
    assert words == sorted(words)
    assert all(w == w.lower() and p for w, p in zip(words, phon))
    # ARPAbet: 39 phonemes, vowels carry a stress digit 0/1/2
    bases = {p.rstrip("012") for p in ds["phoneme_set"]}
    assert len(bases) <= 39 and "AH" in bases
    i = words.index("aversion")
    assert phon[i] == ["AH0", "V", "ER1", "ZH", "AH0", "N"]


def test_spoken_digits():
    ds = datasets.load("spoken_digits")
    mf, lab = ds["mfcc"], ds["labels"]
    assert len(mf) == lab.shape[0] == 1000
    assert np.bincount(lab).tolist() == [100] * 10
    assert all(m.ndim == 2 and m.shape[1] == 13 and m.dtype == np.float32 for m in mf)
    assert [len(m) for m in mf] == ds["lengths"].tolist()
    assert len(set(ds["speaker"].tolist())) == 20
    assert all(np.isfinite(m).all() for m in mf)
