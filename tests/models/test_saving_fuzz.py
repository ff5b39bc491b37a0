"""Issue #10: model files are untrusted input. A fixed corpus of crafted files, each
of which must raise the one error type, rnnkit.InvalidModelFile, naming the file,
on one line, without building anything large and without blocking.

Crafted metadata gets a correct checksum (an attacker can compute one too), so the
checks behind the checksum are what is tested; the damaged-bytes cases are separate.
"""
import json
import math
import os
import pickle
import signal
import struct
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rnnkit import InvalidModelFile
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential, load_model
from rnnkit.training.safefile import checksum


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A compiled, trained (so with optimizer state) model file, and its parts."""
    d = tmp_path_factory.mktemp("good")
    torch.manual_seed(0)
    m = Sequential([LSTM(4, input_shape=(3, 2)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.ones((4, 3, 2), np.float32), np.ones((4, 1), np.float32), epochs=1, verbose=0)
    path = d / "good.rnnkit"
    m.save(path)
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return path, meta, tensors


def craft(path, meta, tensors, sign=True):
    meta = {k: v for k, v in meta.items() if k != "sha256"}
    if sign:
        meta["sha256"] = checksum(tensors, meta)
    save_file(tensors, str(path), metadata=meta)
    return path


def _edit_json(meta, field, edit):
    out = dict(meta)
    obj = json.loads(out[field])
    obj = edit(obj)
    out[field] = obj if isinstance(obj, str) else json.dumps(obj)
    return out


def _layer0(edit):
    def f(cfg):
        edit(cfg["layers"][0]["config"])
        return cfg
    return f


def _refused(path, match=None, **kw):
    with pytest.raises(InvalidModelFile) as e:
        load_model(path, **kw)
    msg = str(e.value)
    assert repr(os.fspath(path)) in msg and "\n" not in msg
    assert isinstance(e.value, ValueError)
    if match is not None:
        assert match in msg, msg
    return msg


def test_the_crafting_pipeline_itself_gives_a_loadable_file(good, tmp_path):
    """Positive control: an unmodified re-signed copy loads, so every refusal below is
    due to its one change."""
    path, meta, tensors = good
    m = load_model(craft(tmp_path / "same.rnnkit", meta, tensors))
    assert m.count_params() == load_model(path).count_params()


# --- the container: bytes that are not (or not quite) a safetensors file ----------------------
def _raw_cases(good_bytes):
    n = int.from_bytes(good_bytes[:8], "little")
    header = json.loads(good_bytes[8:8 + n])
    name = next(k for k in header if k.startswith("model/"))

    def with_header(h):
        text = json.dumps(h).encode()
        return struct.pack("<Q", len(text)) + text + good_bytes[8 + n:]

    def entry(**change):
        h = json.loads(good_bytes[8:8 + n])
        h[name].update(change)
        return with_header(h)

    other = next(k for k in header if k.startswith("model/") and k != name)
    overlap = json.loads(good_bytes[8:8 + n])
    overlap[other]["data_offsets"] = list(overlap[name]["data_offsets"])
    overlap[other]["shape"] = list(overlap[name]["shape"])
    overlap[other]["dtype"] = overlap[name]["dtype"]
    return {
        "empty": (b"", "too short"),
        "seven bytes": (b"\x01" * 7, "too short"),
        "huge header length": (struct.pack("<Q", 2 ** 60) + b"{}", "header of"),
        "header longer than file": (struct.pack("<Q", 500) + b"{}", "header of"),
        "pickle": (pickle.dumps({"weights": [1, 2, 3]}), "never loads pickles"),
        "header not utf-8": (struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc", "not UTF-8"),
        "header not json": (struct.pack("<Q", 4) + b"{{{{", "not valid JSON"),
        "header a list": (with_header([1, 2]), "not a JSON object"),
        "header nested 100000 deep": (struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000,
                                      "levels deep"),
        "unknown dtype": (entry(dtype="Q128"), "unknown dtype"),
        "shape against bytes": (entry(shape=[1000, 1000]), "declares shape"),
        "negative shape": (entry(shape=[-4, 2]), "non-negative"),
        "offsets outside the file": (entry(data_offsets=[0, 10 ** 12]), "outside"),
        "overlapping tensors": (with_header(overlap), "share bytes"),
        "truncated": (good_bytes[:-7], None),
        "metadata not strings": (with_header({**header, "__metadata__": {"format": 5}}),
                                 "map names to strings"),
    }


def test_malformed_containers_raise_invalid_model_file(good, tmp_path):
    path, _, _ = good
    good_bytes = path.read_bytes()
    for label, (data, match) in _raw_cases(good_bytes).items():
        p = tmp_path / (label.replace(" ", "_") + ".rnnkit")
        p.write_bytes(data)
        try:
            _refused(p, match)
        except BaseException:
            print("case:", label)
            raise


def test_random_bytes_raise_invalid_model_file(good, tmp_path):
    path, _, _ = good
    good_bytes = bytearray(path.read_bytes())
    rng = np.random.default_rng(10)
    for i in range(40):
        data = bytearray(good_bytes)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
            data[pos] = int(rng.integers(0, 256))
        if bytes(data) == bytes(good_bytes):
            continue
        p = tmp_path / f"noise{i}.rnnkit"
        p.write_bytes(bytes(data))
        _refused(p)  # a flipped byte anywhere: the header's checks or the checksum


def test_a_directory_and_a_fifo_are_refused_without_blocking(tmp_path):
    _refused(tmp_path, "directory")
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    fifo = tmp_path / "model.rnnkit"
    os.mkfifo(fifo)

    def hung(*_):
        raise AssertionError("load_model blocked on a FIFO")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        _refused(fifo, "FIFO")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing.rnnkit")


# --- the metadata: a valid container with a crafted model inside ------------------------------
def _set(key, value):
    def f(cfg):
        cfg[key] = value
    return f


def _meta_cases(meta):
    deep = {"class_name": "LSTM", "config": {"units": 2}}
    for _ in range(80):
        deep = {"class_name": "Bidirectional", "config": {"layer": deep}}
    return {
        "format version": ({**meta, "format_version": "2"}, "format version"),
        "old kind": ({**meta, "kind": "forecaster"}, "kind"),
        "config not json": ({**meta, "config": "{not json"}, "not valid JSON"),
        "config a list": (_edit_json(meta, "config", lambda c: [c]), "'layers' list"),
        "config without the field": ({k: v for k, v in meta.items() if k != "config"},
                                     "no field 'config'"),
        "layers not a list": (_edit_json(meta, "config", lambda c: {**c, "layers": 3}),
                              "'layers' list"),
        "layer without class": (_edit_json(meta, "config", lambda c: {**c, "layers": [{}]}),
                                "'class_name'"),
        "unknown layer class": (_edit_json(meta, "config", lambda c: {
            **c, "layers": [{"class_name": "EvilLayer", "config": {"function": "os.system"}}]}),
            "unknown layer class"),
        # Lambda exists, but a function is only ever looked up by its registered name
        "lambda naming a function": (_edit_json(meta, "config", lambda c: {
            **c, "layers": [{"class_name": "Lambda", "config": {"function": "os.system"}}]}),
            "isn't registered"),
        "unknown argument": (_edit_json(meta, "config", _layer0(_set("evil", 1))),
                             "unexpected keyword"),
        "units negative": (_edit_json(meta, "config", _layer0(_set("units", -1))), "units"),
        "units a string": (_edit_json(meta, "config", _layer0(_set("units", "4"))), "units"),
        "units a float": (_edit_json(meta, "config", _layer0(_set("units", 1e9))), "units"),
        "stochastic activation": (_edit_json(meta, "config", _layer0(_set("activation",
                                                                         "dropout"))),
                                  "unknown activation"),
        "code as activation": (_edit_json(meta, "config", _layer0(_set("activation", "load"))),
                               "unknown activation"),
        "dunder activation": (_edit_json(meta, "config", _layer0(_set("activation",
                                                                     "__import__"))),
                              "unknown activation"),
        "dropout above one": (_edit_json(meta, "config", _layer0(_set("recurrent_dropout", 1.5))),
                              "recurrent_dropout"),
        "input shape negative": (_edit_json(meta, "config", lambda c: {
            **c, "build_input_shape": [-1, 2]}), "build_input_shape"),
        "input shape strings": (_edit_json(meta, "config", lambda c: {
            **c, "build_input_shape": ["a", 2]}), "build_input_shape"),
        "input shape huge": (_edit_json(meta, "config", lambda c: {
            **c, "build_input_shape": [10 ** 12, 2]}), "build_input_shape"),
        "layer input shape wrong": (_edit_json(meta, "config", _layer0(_set("input_shape",
                                                                           [3, 5]))),
                                    "shape"),
        "nested 80 deep": (_edit_json(meta, "config", lambda c: {**c, "layers": [deep]}),
                           "levels deep"),
        "meta a list": (_edit_json(meta, "meta", lambda m: [m]), "'meta'"),
        "metadata a list": (_edit_json(meta, "meta", lambda m: {**m, "metadata": [1]}),
                            "metadata"),
        "compile without optimizer": (_edit_json(meta, "meta", lambda m: {
            **m, "compile": {"loss": "mse"}}), "compile config"),
        "unknown optimizer": (_edit_json(meta, "meta", lambda m: _opt(m, class_name="Evil")),
                              "unknown optimizer"),
        "nan learning rate": (_edit_json(meta, "meta", lambda m: _opt_cfg(
            m, learning_rate=float("nan"))), "learning_rate"),
        "negative learning rate": (_edit_json(meta, "meta", lambda m: _opt_cfg(
            m, learning_rate=-0.1)), "learning_rate"),
        "infinite epsilon": (_edit_json(meta, "meta", lambda m: _opt_cfg(
            m, epsilon=float("inf"))), "epsilon"),
        "unknown loss": (_edit_json(meta, "meta", lambda m: {
            **m, "compile": {**m["compile"], "loss": "evil_loss"}}), "loss"),
        "torch optimizer not an optimizer": (_edit_json(meta, "meta", lambda m: _opt(
            m, class_name="TorchOptimizer", config={"torch_class": "load", "hyper": {}})),
            "unknown torch optimizer"),
        "optimizer state names a missing tensor": (_edit_json(meta, "meta", lambda m: {
            **m, "optimizer": {"__tensor__": "nowhere"}}), "doesn't hold"),
        "optimizer state lr nan": (_edit_json(meta, "meta", _state_lr(float("nan"))),
                                   "finite"),
        "optimizer state too many groups": (_edit_json(meta, "meta", _state_groups), "groups"),
    }


def _opt(m, **spec):
    m["compile"]["optimizer"].update(spec)
    return m


def _opt_cfg(m, **cfg):
    m["compile"]["optimizer"]["config"].update(cfg)
    return m


def _groups(m):
    return dict(m["optimizer"]["__dict__"])["param_groups"]


def _state_lr(lr):
    def f(m):
        group = _groups(m)[0]["__dict__"]
        for kv in group:
            if kv[0] == "lr":
                kv[1] = lr
        return m
    return f


def _state_groups(m):
    groups = _groups(m)
    groups.append(groups[0])
    return m


def test_crafted_metadata_raises_invalid_model_file(good, tmp_path):
    _, meta, tensors = good
    for label, (crafted, match) in _meta_cases(meta).items():
        p = craft(tmp_path / (label.replace(" ", "_") + ".rnnkit"), crafted, tensors)
        try:
            _refused(p, match)
        except BaseException:
            print("case:", label)
            raise


def test_declared_units_are_checked_before_anything_is_built(good, tmp_path, monkeypatch):
    """The file declares units=20000 (a 1.6e9-parameter LSTM) beside small tensors: the
    shapes are compared on torch's meta device and no real layer of that size is made."""
    from rnnkit.layers.recurrent import RecurrentLayer

    _, meta, tensors = good
    built = []
    real = RecurrentLayer.reset_parameters
    monkeypatch.setattr(RecurrentLayer, "reset_parameters",
                        lambda self: (built.append(self.units), real(self))[1])
    p = craft(tmp_path / "huge.rnnkit", _edit_json(meta, "config", _layer0(_set("units", 20000))),
              tensors)
    _refused(p, "weight")
    assert 20000 not in built


# --- the tensors ------------------------------------------------------------------------------
def test_tensors_that_do_not_fit_raise_invalid_model_file(good, tmp_path):
    _, meta, tensors = good
    name = "model/layers.0.weight_ih"
    state = next(k for k in tensors if k.startswith("optimizer/state/0/m"))
    cases = {
        "missing weight": ({k: v for k, v in tensors.items() if k != name}, "missing weights"),
        "extra weight": ({**tensors, "model/evil": torch.zeros(2)}, "unexpected weights"),
        "wrong shape": ({**tensors, name: torch.zeros(3, 3)}, "has shape"),
        "int32 weights": ({**tensors, name: tensors[name].to(torch.int32)}, "int32"),
        "bool weights": ({**tensors, name: tensors[name] > 0}, "bool"),
        "inexact float64": ({**tensors, name: tensors[name].double() + 1e-12}, "exactly"),
        "optimizer moment of another shape": ({**tensors, state: torch.zeros(5)}, "shape"),
        "optimizer moment as ints": ({**tensors, state: tensors[state].to(torch.int64)},
                                     "floating"),
    }
    for label, (crafted, match) in cases.items():
        p = craft(tmp_path / (label.replace(" ", "_") + ".rnnkit"), meta, crafted)
        try:
            _refused(p, match)
        except BaseException:
            print("case:", label)
            raise


def test_exact_dtype_conversions_are_made(good, tmp_path):
    """float64 holding float32 values converts exactly; a model saved wholly in float64
    comes back in float64."""
    path, meta, tensors = good
    mixed = {**tensors, "model/layers.0.weight_ih": tensors["model/layers.0.weight_ih"].double()}
    m = load_model(craft(tmp_path / "mixed.rnnkit", meta, mixed))
    assert m.layers[0].weight_ih.dtype == torch.float32
    torch.testing.assert_close(m.layers[0].weight_ih, tensors["model/layers.0.weight_ih"],
                               rtol=0, atol=0)
    ref = load_model(path, compile=False).to(torch.float64)
    ref.save(tmp_path / "f64.rnnkit")
    assert load_model(tmp_path / "f64.rnnkit").layers[0].weight_ih.dtype == torch.float64


def test_the_parameter_bound_and_its_keyword(good):
    path, _, tensors = good
    n = sum(t.numel() for k, t in tensors.items() if k.startswith("model/"))
    msg = _refused(path, "max_params", max_params=n - 1)
    assert f"{n:,}" in msg
    assert load_model(path, max_params=n).count_params() == n
    with pytest.raises(ValueError, match="max_params"):
        load_model(path, max_params=0)


def test_load_weights_checks_the_file_too(good, tmp_path):
    _, meta, tensors = good
    m = Sequential([LSTM(4, input_shape=(3, 2)), Dense(1)])
    before = [w.copy() for w in m.get_weights()]
    p = craft(tmp_path / "ints.rnnkit", meta,
              {**tensors, "model/layers.1.bias": tensors["model/layers.1.bias"].to(torch.int32)})
    with pytest.raises(InvalidModelFile, match="int32"):
        m.load_weights(p)
    for a, b in zip(m.get_weights(), before):  # nothing changed
        np.testing.assert_array_equal(a, b)


def test_the_cli_prints_one_line_and_exits_2(good, tmp_path, capsys):
    from rnnkit.cli.main import main

    _, meta, tensors = good
    csv = tmp_path / "d.csv"
    csv.write_text("a\n" + "\n".join(str(math.sin(i)) for i in range(30)) + "\n")
    files = [craft(tmp_path / "units.rnnkit", _edit_json(meta, "config",
                                                         _layer0(_set("units", 20000))), tensors),
             craft(tmp_path / "nan.rnnkit", _edit_json(meta, "config",
                                                       _layer0(_set("activation", "dropout"))),
                   tensors)]
    (tmp_path / "pickle.rnnkit").write_bytes(pickle.dumps([1]))
    files.append(tmp_path / "pickle.rnnkit")
    for f in files:
        assert main(["predict", str(f), "--data", str(csv)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("rnnkit predict: error: invalid rnnkit file") and str(f) in err


def test_invalid_model_file_pickles_and_names_the_file(tmp_path):
    e = InvalidModelFile(tmp_path / "m.rnnkit", "line one\nline two")
    assert str(e) == f"invalid rnnkit file {str(tmp_path / 'm.rnnkit')!r}: line one line two"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is InvalidModelFile and str(back) == str(e)
    assert sys.modules["rnnkit"].InvalidModelFile is InvalidModelFile
