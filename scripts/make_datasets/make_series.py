"""Extract the three numeric series (sunspots, airline, ECG) into src/rnnkit/datasets.

Run after fetch_sources.sh:  python scripts/make_datasets/make_series.py
Only numpy and the standard library are used, so any Python 3.9+ with numpy works.
"""
import csv
import os
import sys
from pathlib import Path

import numpy as np

WORK = Path(os.environ.get("WORK", "/tmp/rnnkit-src")) / "x" / "wheels"
OUT = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets"


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def sunspots():
    # statsmodels/datasets/sunspots/sunspots.csv: "YEAR","SUNACTIVITY", 1700..2008.
    rows = _rows(WORK / "statsmodels/datasets/sunspots/sunspots.csv")
    assert rows[0] == ["YEAR", "SUNACTIVITY"], rows[0]
    body = [(int(float(y)), float(v)) for y, v in rows[1:]]
    assert len(body) == 309 and body[0][0] == 1700 and body[-1][0] == 2008
    with open(OUT / "sunspots.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["year", "sunspots"])
        for y, v in body:
            w.writerow([y, repr(v)])


def airline():
    # aeon/datasets/data/Airline/Airline.csv: Date (YYYY-MM), Passengers (thousands).
    rows = _rows(WORK / "aeon/datasets/data/Airline/Airline.csv")
    assert rows[0] == ["Date", "Passengers"], rows[0]
    body = [(d, int(float(p))) for d, p in rows[1:]]
    assert len(body) == 144 and body[0][0] == "1949-01" and body[-1][0] == "1960-12"
    with open(OUT / "airline.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["month", "passengers"])
        w.writerows(body)


def ecg():
    # scipy/misc/ecg.dat is an .npz holding the raw 11-bit ADC counts ("ecg", uint16) of
    # MIT-BIH record 208, lead MLII, 19:35-24:35, 360 Hz.  scipy converts with
    # (adc - 1024) / 200 -> mV; we keep the raw counts (lossless, compress well) plus
    # the constants, and convert in the loader.
    with np.load(WORK / "scipy/misc/ecg.dat") as z:
        adc = z["ecg"].astype(np.uint16)
    assert adc.shape == (108000,), adc.shape
    np.savez_compressed(OUT / "ecg_mitdb208.npz", adc=adc,
                        sample_rate=np.int32(360), adc_zero=np.int32(1024),
                        adc_gain=np.float64(200.0))


if __name__ == "__main__":
    sunspots()
    airline()
    ecg()
    for f in ("sunspots.csv", "airline.csv", "ecg_mitdb208.npz"):
        print(f, (OUT / f).stat().st_size, "bytes", file=sys.stderr)
