import os

import pytest

# Keras (on its torch backend) is an optional oracle here; it must be told its backend before import.
os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture(scope="session")
def keras():
    return pytest.importorskip("keras")
