"""Readers for the bundled files; each returns the ``data`` mapping of one dataset.

The files are written by the scripts in ``scripts/make_datasets/`` (see the README
there); formats are plain CSV, gzipped UTF-8 text/JSON and compressed .npz, so they
can be read with nothing but the standard library and numpy.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict

import numpy as np

from rnnkit.datasets._base import read_package_bytes


def _csv_columns(filename: str) -> Dict[str, list]:
    rows = list(csv.reader(io.StringIO(read_package_bytes(filename).decode("utf-8"))))
    header, body = rows[0], rows[1:]
    return {h: [r[i] for r in body] for i, h in enumerate(header)}


def load_sunspots() -> Dict[str, Any]:
    cols = _csv_columns("sunspots.csv")
    return {"year": np.array(cols["year"], dtype=np.int64),              # (309,)
            "sunspots": np.array(cols["sunspots"], dtype=np.float64)}   # (309,)


def load_airline() -> Dict[str, Any]:
    cols = _csv_columns("airline.csv")
    return {"month": np.array(cols["month"], dtype="datetime64[M]"),    # (144,)
            "passengers": np.array(cols["passengers"], dtype=np.float64)}  # (144,) thousands


def load_ecg() -> Dict[str, Any]:
    with np.load(io.BytesIO(read_package_bytes("ecg_mitdb208.npz"))) as z:
        adc = z["adc"].astype(np.int64)
        rate = int(z["sample_rate"])
        zero, gain = int(z["adc_zero"]), float(z["adc_gain"])
    # MIT-BIH stores 11-bit ADC counts; mV = (count - zero) / gain (header of record 208).
    ecg = (adc - zero) / gain                                         # (108000,) mV
    return {"time": np.arange(ecg.size) / rate,                       # (108000,) seconds
            "ecg": ecg, "sample_rate": rate}


def load_novel() -> Dict[str, Any]:
    return {"text": read_package_bytes("pride_and_prejudice.txt.gz").decode("utf-8")}


def load_fortunes() -> Dict[str, Any]:
    d = json.loads(read_package_bytes("fortunes.json.gz").decode("utf-8"))
    return {"texts": list(d["texts"]),                                # N strings
            "labels": np.array(d["labels"], dtype=np.int64),          # (N,) in 0..C-1
            "categories": list(d["categories"])}                      # C names


def load_cmudict() -> Dict[str, Any]:
    words, phonemes = [], []
    for line in read_package_bytes("cmudict_20k.txt.gz").decode("utf-8").splitlines():
        word, phones = line.split("\t")
        words.append(word)
        phonemes.append(phones.split(" "))
    symbols = sorted({p for ps in phonemes for p in ps})
    return {"words": words,            # N lower-case spellings
            "phonemes": phonemes,      # N lists of ARPAbet symbols with stress digits
            "phoneme_set": symbols}    # sorted distinct symbols (at most 84 with stress)


def load_spoken_digits() -> Dict[str, Any]:
    with np.load(io.BytesIO(read_package_bytes("spoken_digits_mfcc.npz"))) as z:
        flat = z["mfcc"].astype(np.float32)                           # (sum_T, 13)
        lengths = z["lengths"].astype(np.int64)                       # (N,)
        out = {"labels": z["labels"].astype(np.int64),                # (N,) digit 0..9
               "speaker": z["speaker"].astype(str),                   # (N,)
               "speed": z["speed"].astype(np.int64),                  # (N,) words/min
               "pitch": z["pitch"].astype(np.int64),                  # (N,) 0..99
               "sample_rate": int(z["sample_rate"]),
               "hop_length": int(z["hop_length"]),
               "frame_length": int(z["frame_length"])}
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    out["mfcc"] = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]  # N arrays (T_i, 13)
    out["lengths"] = lengths
    return out
