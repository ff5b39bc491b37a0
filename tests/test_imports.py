"""Which way rnnkit's imports go (issue 12, STYLE.md "Which way imports go").

Read with ``ast`` from the sources, every import counted, those inside
functions too (a lazy import is still a dependency):

- ``util`` (the foundation) imports nothing of ours; ``cells`` only util;
- ``kernels`` only cells (and util); ``nn`` and ``layers`` only cells and kernels;
- ``training`` not models, tools or cli; ``models`` not tools or cli; ``tools`` not cli;
- nothing imports ``cli`` but cli itself and ``python -m rnnkit``.

And no cycle among the modules' top-level imports.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnkit"

# Top-level alias modules belong to the layer they re-export.
ALIAS = {"callbacks": "training", "losses": "training", "metrics": "training",
         "optimizers": "training", "_version": "util", "seed": "util", "__main__": "__main__",
         "_unsupported": "util", "errors": "util"}  # errors and "not supported" names: foundation
ONLY = {"util": set(), "cells": {"util"}, "kernels": {"util", "cells"},
        "nn": {"util", "cells", "kernels"}, "layers": {"util", "cells", "kernels"}}
NOT = {"training": {"models", "tools", "cli"}, "models": {"tools", "cli"}, "tools": {"cli"}}
# Known cycle left alone (not among issue 12's): tools.bench re-exports bench_seed's suite.
KNOWN_CYCLES = [{"rnnkit.tools.bench", "rnnkit.tools.bench_seed"}]


def _modules() -> dict[str, Path]:
    mods = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def _layer(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "rnnkit"
    return ALIAS.get(parts[1], parts[1])


def _imports(tree: ast.AST, top_only: bool) -> list[tuple[str, list[str]]]:
    nodes = tree.body if top_only else list(ast.walk(tree))
    out = []
    for n in nodes:
        if isinstance(n, ast.Import):
            out += [(a.name, []) for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            out.append((n.module, [a.name for a in n.names]))
        elif isinstance(n, ast.ImportFrom) and n.level > 0:
            raise AssertionError(f"relative import at line {n.lineno}: rnnkit imports absolutely")
    return out


def _edges(top_only: bool) -> dict[str, set[str]]:
    mods = _modules()
    g: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        for target, names in _imports(ast.parse(path.read_text()), top_only):
            if not (target == "rnnkit" or target.startswith("rnnkit.")):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in mods]
            g[mod].update(subs or [target])
    return g


def violations() -> list[str]:
    bad = []
    for mod, targets in sorted(_edges(top_only=False).items()):
        src = _layer(mod)
        for t in sorted(targets):
            dst = _layer(t)
            if dst in (src, "rnnkit"):
                continue
            if dst == "cli" and src != "__main__":
                bad.append(f"{mod} imports {t}: nothing imports cli")
            elif src in ONLY and dst not in ONLY[src]:
                bad.append(f"{mod} imports {t}: {src} may import only {sorted(ONLY[src]) or 'nothing of ours'}")
            elif dst in NOT.get(src, ()):
                bad.append(f"{mod} imports {t}: {src} must not import {dst}")
    return bad


def cycles() -> list[set[str]]:
    """Strongly connected components (size > 1) of the top-level import graph (Tarjan)."""
    g = _edges(top_only=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack, on, found = [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in list(g):
        if v not in index:
            visit(v)
    return found


def test_no_import_goes_the_forbidden_way():
    assert violations() == []


def test_no_import_cycles():
    assert [c for c in cycles() if c not in KNOWN_CYCLES] == []


def test_the_checker_catches_a_forbidden_direction(tmp_path):
    """Plant a cells module that imports kernels, and a training one that imports
    tools: both are reported (the checker can fail)."""
    fake = tmp_path / "rnnkit"
    for pkg, body in {"cells": "from rnnkit.kernels import registry\n",
                      "training": "def f():\n    from rnnkit.tools import compare\n",
                      "kernels": "", "tools": ""}.items():
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text(body)
    (fake / "kernels" / "registry.py").write_text("import rnnkit.cells\n")
    (fake / "tools" / "compare.py").write_text("")
    globals()["SRC"], old = fake, SRC  # the checker reads the module-level SRC
    try:
        bad = violations()
        assert any(b.startswith("rnnkit.cells imports rnnkit.kernels.registry") for b in bad)
        assert any(b.startswith("rnnkit.training imports rnnkit.tools.compare") for b in bad)
        assert {"rnnkit.cells", "rnnkit.kernels.registry"} in cycles()
    finally:
        globals()["SRC"] = old


@pytest.mark.parametrize("layer", sorted(ONLY))
def test_every_restricted_layer_exists(layer):
    assert (SRC / layer).is_dir(), layer
