"""Seq2Seq saving (src/rnnkit/models/seq2seq_io.py): a safetensors round trip that
decodes identically, no pickles, no half-written files, and argument checks."""
import os
import pickle

import pytest
import torch

from rnnkit.models import Seq2Seq

pytestmark = pytest.mark.usefixtures("one_thread")
V_SRC, V_TGT, EOS_ID = 9, 11, 3
# As in test_seq2seq.py (test modules can't import each other under --import-mode=importlib):
# right-padded sources (lengths 4, 2, 3).
SRC = torch.tensor([[4, 5, 6, 7], [8, 4, 0, 0], [5, 5, 6, 0]])


def _model(cell="lstm", attention="general", seed=0, dtype=torch.float32, **kw):
    torch.manual_seed(seed)
    kw = {"embed_size": 5, "hidden_size": 6, **kw}
    return Seq2Seq(V_SRC, V_TGT, cell=cell, attention=attention, **kw).to(dtype).eval()


def _eos_friendly(cell, attention, seed):
    """An untrained model whose <eos> is likely enough to end hypotheses at various lengths."""
    m = _model(cell, attention, seed=seed, dtype=torch.float32)
    with torch.no_grad():
        m.out.bias[EOS_ID] += 1.5
    return m


def test_save_load_round_trip(tmp_path):
    m = _eos_friendly("gru", "general", 0)
    m.config["layer_norm"] = False  # a cell option travels in the config too
    path = tmp_path / "s2s.safetensors"
    m.save(path, metadata={"src_vocab": ["<pad>", "<unk>", "a"]})
    assert os.listdir(tmp_path) == ["s2s.safetensors"]  # no temporary file left behind
    n = Seq2Seq.load(path)
    assert n.config == m.config and n.metadata == {"src_vocab": ["<pad>", "<unk>", "a"]}
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), n.state_dict().values()))
    assert n.beam_search(SRC, beam_size=3, max_len=6) == m.beam_search(SRC, beam_size=3, max_len=6)
    assert n.greedy_decode(SRC, max_len=6) == m.greedy_decode(SRC, max_len=6)


def test_load_refuses_pickles_and_other_formats(tmp_path):
    p = tmp_path / "m.pt"
    with open(p, "wb") as fh:
        pickle.dump({"x": 1}, fh)
    with pytest.raises(ValueError, match="never loads pickles"):
        Seq2Seq.load(p)
    from rnnkit.training.state import write_state_file
    write_state_file(tmp_path / "other", {"w": torch.zeros(1)}, "rnnkit-model", {})
    with pytest.raises(ValueError, match="rnnkit-seq2seq"):
        Seq2Seq.load(tmp_path / "other")


def test_save_needs_a_json_config(tmp_path):
    m = Seq2Seq(5, 6, cell="rnn", activation=torch.sin)
    with pytest.raises(TypeError, match="JSON"):
        m.save(tmp_path / "m")
    assert not os.listdir(tmp_path)
    with pytest.raises(ValueError, match="`path`"):
        Seq2Seq(5, 6).save(tmp_path)


def test_crafted_files_raise_invalid_model_file(tmp_path, monkeypatch):
    """Issue #10: the config is rebuilt on the meta device first, so a file declaring a
    huge model beside small tensors is refused without allocating it; float64 files
    come back in float64."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from rnnkit import InvalidModelFile
    from rnnkit.training.safefile import checksum

    m = _model("gru", None)
    m.save(tmp_path / "m.s2s")
    with safe_open(str(tmp_path / "m.s2s"), framework="pt") as f:
        meta, tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}

    def craft(name, **config):
        h = {k: v for k, v in meta.items() if k != "sha256"}
        h["config"] = json.dumps({**json.loads(meta["config"]), **config})
        h["sha256"] = checksum(tensors, h)
        save_file(tensors, str(tmp_path / name), metadata=h)
        return tmp_path / name

    made = []
    real_init = Seq2Seq.__init__
    monkeypatch.setattr(Seq2Seq, "__init__", lambda self, *a, **k: (
        made.append((k.get("hidden_size"), torch.empty(0).device.type)), real_init(self, *a, **k))[1])
    with pytest.raises(InvalidModelFile, match="doesn't fit"):
        Seq2Seq.load(craft("huge.s2s", hidden_size=50_000))
    assert made == [(50_000, "meta")]  # never built for real
    with pytest.raises(InvalidModelFile, match="unexpected keyword"):
        Seq2Seq.load(craft("kw.s2s", evil=1))
    monkeypatch.undo()
    m.to(torch.float64).save(tmp_path / "f64.s2s")
    n = Seq2Seq.load(tmp_path / "f64.s2s")
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), n.state_dict().values()))
