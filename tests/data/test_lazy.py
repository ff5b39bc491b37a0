"""Lazy windows over memory-mapped series and streamed CSV files; fit trains on them,
they shard by window, and a series larger than a memory cap trains under that cap."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.data.lazy import WindowDataset, csv_to_npy, open_npy
from rnnkit.distributed.sharding import ShardedData

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_windows_by_hand():
    series = np.arange(20, dtype=np.float32).reshape(10, 2)  # row r = (2r, 2r+1)
    ds = WindowDataset(series, window=3, horizon=2, features=[0, 1], targets=[1], stride=2)
    assert len(ds) == 3 and ds.sample_shape == (3, 2)  # starts 0, 2, 4 (4 + 5 <= 10)
    x, y, w, m = ds.take([2])
    np.testing.assert_array_equal(x[0], [[8, 9], [10, 11], [12, 13]])
    np.testing.assert_array_equal(y[0], [15, 17])  # column 1 of rows 7, 8
    assert w is None and m is None


def test_memmap_file_and_scaling(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(12, dtype=np.float32))
    arr = open_npy(path)
    assert isinstance(arr, np.memmap) and arr.shape == (12, 1)
    ds = WindowDataset(path, window=4, offset=[2.0], scale=[2.0])
    x, y, _, _ = ds.take([1])
    np.testing.assert_allclose(x[0, :, 0], (np.arange(1, 5) - 2) / 2)
    np.testing.assert_allclose(y[0], [(5 - 2) / 2])


def test_split_and_nan():
    series = np.arange(30, dtype=np.float32)
    train, val = WindowDataset(series, window=5).split(0.2)
    assert (len(train), len(val)) == (20, 5)
    np.testing.assert_array_equal(val.take([0])[0][0, :, 0], np.arange(20, 25))
    series[17] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in window 12 \(rows 12 to 17\)"):
        WindowDataset(series, window=5).take([12])


def test_bad_arguments():
    with pytest.raises(ValueError, match="`window` must be a positive int, got 0"):
        WindowDataset(np.zeros(10), window=0)
    with pytest.raises(ValueError, match="fewer than window"):
        WindowDataset(np.zeros(5), window=5)
    with pytest.raises(ValueError, match="`targets` must be column indices"):
        WindowDataset(np.zeros((10, 2)), window=3, targets=[2])


def test_csv_streams_in_chunks(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(23, 3))
    csv = tmp_path / "big.csv"
    csv.write_text("a,b,c\n" + "".join(f"{r[0]},{r[1]},{r[2]}\n" for r in data))
    stats = csv_to_npy(csv, tmp_path / "big.npy", ["c", "a"], chunksize=4)
    out = np.load(tmp_path / "big.npy")
    np.testing.assert_allclose(out, data[:, [2, 0]], rtol=1e-6)
    assert stats["rows"] == 23
    np.testing.assert_allclose(stats["mean"], data[:, [2, 0]].mean(0), rtol=1e-9)
    np.testing.assert_allclose(stats["std"], data[:, [2, 0]].std(0), rtol=1e-9)
    csv.write_text("a,b,c\n1,2,3\n4,x,6\n")
    with pytest.raises(ValueError, match=r"line 3, column 'b': 'x' is not a finite number"):
        csv_to_npy(csv, tmp_path / "bad.npy", ["a", "b"], chunksize=1)
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "big.npy"]  # nothing half-written


def test_fit_on_windows_equals_fit_on_arrays():
    from rnnkit.layers import GRU, Dense
    from rnnkit.models import Sequential
    from rnnkit.seed import set_random_seed

    series = np.sin(np.arange(300) / 5).astype(np.float32)
    ds = WindowDataset(series, window=10)
    X, y, _, _ = ds.take(np.arange(len(ds)))
    models = []
    for data in ((ds, None), (X.numpy(), y.numpy())):
        set_random_seed(0)
        m = Sequential([GRU(8, input_shape=(10, 1)), Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        h = m.fit(*data, epochs=3, batch_size=32, validation_split=0.1, verbose=0)
        models.append((m, h.history))
    (a, ha), (b, hb) = models
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)
    assert ha["val_loss"] == pytest.approx(hb["val_loss"], rel=1e-6)
    assert ha["loss"][-1] < ha["loss"][0]


def test_windows_shard_by_index():
    ds = WindowDataset(np.arange(40, dtype=np.float32), window=3)  # 37 windows
    seen = []
    for rank in range(2):
        shard = ShardedData(ds, rank, 2)
        g = torch.Generator().manual_seed(5)
        for x, y, w, m in shard.batches(8, shuffle=True, generator=g):
            if shard.count:
                seen += x[:, 0, 0].int().tolist()
    assert sorted(seen) == list(range(37))


def test_a_memmap_larger_than_the_memory_cap_trains(tmp_path):
    """RLIMIT_DATA caps the process's private memory (heap, anonymous maps) below
    the file's size; the file-backed read-only map doesn't count against it."""
    path = tmp_path / "big.npy"
    rows = 24_000_000  # 4 columns float32: 384 MB
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, 4))
    for s in range(0, rows, 4_000_000):
        t = np.arange(s, min(s + 4_000_000, rows), dtype=np.float64)
        big[s:s + len(t)] = np.sin(t / 50)[:, None].astype(np.float32)
    big.flush()
    del big
    script = textwrap.dedent(f"""
        import resource
        import numpy as np, torch
        torch.set_num_threads(1)
        from rnnkit.data.lazy import WindowDataset
        from rnnkit.layers import LSTM, Dense
        from rnnkit.models import Sequential
        def vm_data():
            for line in open("/proc/self/status"):
                if line.startswith("VmData"):
                    return int(line.split()[1]) * 1024
        cap = vm_data() + 160 * 2**20          # what the imports took + 160 MB
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
        ds = WindowDataset({str(path)!r}, window=50, features=[0, 1, 2, 3], targets=[0],
                           stride=120_000)     # windows from the first to the last rows
        assert ds.series.nbytes > cap - vm_data() + 200 * 2**20
        m = Sequential([LSTM(8, input_shape=(50, 4)), Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        h = m.fit(ds, epochs=2, batch_size=20, verbose=0)
        assert np.isfinite(h.history["loss"]).all()
        try:
            np.array(ds.series)                # negative control: reading it whole fails
        except MemoryError:
            print("OK", len(ds), ds.series.nbytes // 2**20, "MB")
    """)
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("OK 200 366 MB"), r.stdout
