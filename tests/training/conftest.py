"""The ``toys`` fixture: test-only layers and data helpers (tests/models/toy_layers.py).

Loaded by file path, once per session under one module name, because the suite
may run with ``--import-mode=importlib`` (test modules can't import each other)
and the layers register themselves by class name.
"""
import importlib.util
import sys
from pathlib import Path

import pytest

_NAME = "_rnnkit_test_toy_layers"


def load_toys():
    if _NAME not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "models" / "toy_layers.py"
        spec = importlib.util.spec_from_file_location(_NAME, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


@pytest.fixture(scope="session")
def toys():
    return load_toys()
