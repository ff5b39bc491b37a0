import numpy as np
import pytest


def write_order_csv(path, n=200, seed=0):
    """Long-format CSV whose class is the ORDER of two events: one step of +1 and one of
    -1 in noise; 'ab' when +1 comes first. Mean, std, min, max and last value are the
    same for both classes, so order-free summaries can't tell them apart. Rows are
    shuffled: only the time column orders them."""
    rng = np.random.default_rng(seed)
    rows = ["seq,t,x,label"]
    for i in range(n):
        L = int(rng.integers(8, 13))
        x = 0.1 * rng.standard_normal(L)
        a, b = rng.choice(L - 1, size=2, replace=False)   # never the last step
        x[a] += 1.0
        x[b] -= 1.0
        lab = "ab" if a < b else "ba"
        rows += [f"s{i},{t},{x[t]:.5f},{lab}" for t in rng.permutation(L)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def order_csv(tmp_path):
    return write_order_csv(tmp_path / "order.csv")


@pytest.fixture
def order_data(order_csv):
    from rnnkit.tools.classify_data import load_labelled, prepare_classification

    raw = load_labelled(order_csv, id="seq", label="label", time="t")
    return prepare_classification(raw, columns={"id": "seq", "time": "t", "label": "label"})
