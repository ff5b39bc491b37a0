"""rnnkit.util.discover: a package imports its modules in sorted order, skips private ones,
exports what each declares and refuses a clash; and, end to end, a throwaway cell family
added as four files (a cell module, a kernel module, an nn module, a layers module), with
no line anywhere else, is registered, exported, chosen by `auto` and computes the same
numbers as the reference loop (issue 12: a new family touches at most 4 files)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rnnkit
from rnnkit.util.discover import declared_all, export, submodules


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package ``pkg_disc`` on sys.path; write(name, body) adds a module."""
    root = tmp_path / "pkg_disc"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda name, body: (root / f"{name}.py").write_text(textwrap.dedent(body))
    for name in [m for m in sys.modules if m == "pkg_disc" or m.startswith("pkg_disc.")]:
        del sys.modules[name]


def test_modules_come_sorted_private_ones_skipped_and_each_imported_once(package):
    package("zeta", "ORDER = []\n")
    package("alpha", "import pkg_disc.zeta as z\nz.ORDER.append('alpha')\n")
    package("_hidden", "raise AssertionError('a private module was imported')\n")
    package("mid", "import pkg_disc.zeta as z\nz.ORDER.append('mid')\n")
    import pkg_disc

    mods = submodules("pkg_disc", pkg_disc.__path__, skip={"mid"})
    assert [m.__name__ for m in mods] == ["pkg_disc.alpha", "pkg_disc.zeta"]
    assert sys.modules["pkg_disc.zeta"].ORDER == ["alpha"]  # mid skipped, _hidden never read
    submodules("pkg_disc", pkg_disc.__path__)
    assert sys.modules["pkg_disc.zeta"].ORDER == ["alpha", "mid"]  # alpha not run again


def test_export_binds_declared_names_and_refuses_a_clash_naming_both(package):
    package("a", "__all__ = ['Thing', 'helper']\nclass Thing: pass\ndef helper(): pass\n")
    package("b", "__all__ = ['Thing']\nclass Thing: pass\n")
    package("c", "class Undeclared: pass\n")
    import pkg_disc

    a, b, c = submodules("pkg_disc", pkg_disc.__path__)
    ns = {"__name__": "pkg_disc"}
    assert export(ns, [a, c]) == ["Thing", "helper"]
    assert ns["Thing"] is a.Thing and "Undeclared" not in ns  # no __all__: nothing exported
    assert export(ns, [a]) == ["Thing", "helper"]  # the same objects again: no clash
    with pytest.raises(ValueError, match=r"pkg_disc\.b exports 'Thing', which pkg_disc already "):
        export(ns, [b])
    with pytest.raises(ValueError, match=r"pkg_disc\.b exports 'Thing', which pkg_disc\.a "):
        export({"__name__": "pkg_disc"}, [a, b])


def test_an_all_that_is_a_string_is_a_type_error(package):
    package("bad", "__all__ = 'Thing'\nThing = 1\n")
    import pkg_disc

    [bad] = submodules("pkg_disc", pkg_disc.__path__)
    with pytest.raises(TypeError, match=r"pkg_disc\.bad\.__all__ must be a list of names"):
        declared_all(bad)


def test_the_packages_export_what_they_exported_before():
    """The names before discovery (the explicit lists of issue 12's code), all still there."""
    import rnnkit.cells
    import rnnkit.layers
    import rnnkit.nn

    assert {"MinGRU", "MinLSTM", "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell",
            "ConvGRU", "ConvLSTM"} == set(rnnkit.nn.__all__)
    assert {"mingru_step", "minlstm_step", "gru_step", "lstm_step", "rnn_step", "FAMILIES",
            "family", "register_family", "param_shapes"} <= set(rnnkit.cells.__all__)
    assert {"MinGRU", "MinLSTM", "LSTM", "Dense", "Bidirectional", "add", "Layer",
            "RecurrentLayer", "Input"} <= set(rnnkit.layers.__all__)
    for pkg in (rnnkit.cells, rnnkit.nn, rnnkit.layers):
        assert pkg.__all__ == sorted(pkg.__all__)
        assert all(getattr(pkg, n) is not None for n in pkg.__all__)


# --- end to end: a new family in four new files, in a fresh interpreter ---------------------
TOY_FILES = {
    "cells": ("toyrnn.py", """
        # A throwaway family: the Elman family's facts under another name.
        import dataclasses
        from rnnkit.cells import rnn
        from rnnkit.cells.family import register_family

        __all__ = ["toy_step"]
        toy_step = rnn.rnn_step
        FAMILY = register_family(dataclasses.replace(rnn.FAMILY, name="toyrnn"))
        """),
    "kernels": ("toy_kernel.py", """
        from rnnkit.kernels import reference
        from rnnkit.kernels.base import Kernel

        CALLS = []

        def why_not(spec, **_):
            return None if spec.mode == "toyrnn" else f"runs toyrnn only, got {spec.mode!r}"

        def run(*args, **kw):
            CALLS.append(1)
            return reference.run(*args, **kw)

        KERNELS = (Kernel("toykernel", 7, why_not, run, "a throwaway kernel"),)
        """),
    "nn": ("toyrnn.py", """
        from rnnkit.nn.recurrent import RNN

        __all__ = ["ToyRNN"]

        class ToyRNN(RNN):
            mode = "toyrnn"
        """),
    "layers": ("toyrnn.py", """
        from rnnkit.layers.base import register_layer
        from rnnkit.layers.simple_rnn import SimpleRNN

        @register_layer
        class ToySimpleRNN(SimpleRNN):
            mode = "toyrnn"
        """),
}

# Puts each folder on its package's __path__ before the package's __init__ runs, as if the
# file had been added to src/rnnkit/<package>/.
PROBE = """
import importlib.machinery, json, sys
EXTRA = json.loads(sys.argv[1])

class Extend(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in EXTRA:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        spec.submodule_search_locations.append(EXTRA[name])
        return spec

sys.meta_path.insert(0, Extend)
import torch
import rnnkit.cells, rnnkit.layers, rnnkit.nn
from rnnkit.kernels import registry
from rnnkit.kernels.toy_kernel import CALLS

torch.manual_seed(0)
m = rnnkit.nn.ToyRNN(3, 4, num_layers=2, bidirectional=True).double()
x = torch.randn(5, 2, 3, dtype=torch.float64)
out, h = m(x)
chosen = m.last_choice.kernel
m.backend = "reference"
ref, h_ref = m(x)
layer = rnnkit.layers.ToySimpleRNN(4)
y = layer(torch.randn(2, 5, 3))
print(json.dumps({
    "families": sorted(rnnkit.cells.FAMILIES), "toy_step": "toy_step" in rnnkit.cells.__all__,
    "nn": "ToyRNN" in rnnkit.nn.__all__, "layers": "ToySimpleRNN" in rnnkit.layers.__all__,
    "kernels": [k.name for k in registry.kernels()], "chosen": chosen, "calls": len(CALLS),
    "diff": max((out - ref).abs().max().item(), (h - h_ref).abs().max().item()),
    "layer_shape": list(y.shape), "layer_kernel": layer.last_choice.kernel,
    "lstm_auto": registry.choose(registry.RecurrentSpec("lstm", 3, 4), mask_kind="none",
                                training=False)[0].name != "toykernel"}))
"""


def test_a_family_added_as_four_files_is_found_everywhere(tmp_path):
    extra = {}
    for pkg, (name, body) in TOY_FILES.items():
        folder = tmp_path / pkg
        folder.mkdir()
        (folder / name).write_text(textwrap.dedent(body))
        extra[f"rnnkit.{pkg}"] = str(folder)
    src = str(Path(rnnkit.__file__).parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
               RNNKIT_CPU_KERNEL="0")  # no build in this interpreter; not what is tested
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(extra)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "toyrnn" in got["families"] and got["toy_step"] and got["nn"] and got["layers"]
    # priority 7 sits between torch (10) and scan (5); the native kernel is off here
    assert got["kernels"] == ["cpu", "torch", "toykernel", "scan", "reference"]
    assert got["chosen"] == "toykernel" and got["calls"] >= 1
    assert got["diff"] <= 1e-12
    assert got["layer_shape"] == [2, 4] and got["layer_kernel"] == "toykernel"
    assert got["lstm_auto"]


def test_discovery_never_imports_optional_gpu_packages():
    """Discovery imports every public module of rnnkit.kernels; one that needs triton at
    import time would break `import rnnkit.layers` for a user without the [gpu] extra.
    Block triton and import every discovering package in a fresh interpreter."""
    import subprocess
    import sys
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'triton' or name.startswith('triton.'):\n"
        "            raise ImportError('triton blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import rnnkit.cells, rnnkit.kernels.registry, rnnkit.nn, rnnkit.layers\n"
        "from rnnkit.kernels import triton_conv\n"
        "import torch\n"
        "assert triton_conv.available(torch.zeros(1)) is not None\n"
        "assert 'triton' not in sys.modules\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
