"""Helpers that test modules import (tests/conftest.py puts this folder on sys.path):
under ``--import-mode=importlib`` test modules can't import one another by package."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def sibling(test_file: str, name: str):
    """The module tests/.../<name>.py beside ``test_file`` (a test module's ``__file__``),
    loaded under its own name so that its helpers and fixtures can be reused."""
    path = Path(test_file).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_{path.parent.name}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
