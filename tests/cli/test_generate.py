import pytest


@pytest.fixture
def text_file(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    return f


def test_train_text_then_generate(cli, text_file, tmp_path):
    m = tmp_path / "c.rnnkit"
    code, out, err = cli("train", "--text", text_file, "--units", "16", "--epochs", "1",
                         "--seq-len", "16", "-q", "--out", m)
    assert code == 0, err
    assert "validation perplexity" in out
    code, out, err = cli("generate", m, "--prime", "the ", "--length", "30", "--temperature", "0.5")
    assert code == 0, err
    text = out.rstrip("\n")
    assert text.startswith("the ") and len(text) == 4 + 30
    assert set(text) <= set("the cat sat on mat.")
    assert cli("generate", m, "--prime", "the ", "--length", "30", "--temperature", "0.5")[1] == out
    # an ordinary Sequential model file: Embedding -> LSTM -> Dense, vocabulary in the metadata
    from rnnkit.models import load_model
    model = load_model(m)
    assert [type(la).__name__ for la in model.layers] == ["Embedding", "LSTM", "Dense"]
    tokens = model.metadata["vocab"]["tokens"]
    assert model.metadata["kind"] == "charlm"
    assert sorted(tokens[2:]) == sorted(set("the cat sat on mat."))     # after <pad>, <unk>
    assert model.layers[0].input_dim == model.layers[-1].units == len(tokens)
    assert len(model.metadata["val_perplexity"]) == 2


def test_generate_bad_input(cli, text_file, tmp_path):
    code, _, err = cli("generate", text_file)
    assert code == 2 and "not an rnnkit model file" in err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ".encode("latin-1") * 500)
    code, _, err = cli("train", "--text", bad, "-q", "--out", tmp_path / "x.rnnkit")
    assert code == 2 and "not valid UTF-8" in err and "Traceback" not in err
    code, _, err = cli("generate", text_file, "--temperature", "0")
    assert code == 2 and "positive" in err
    code, _, err = cli("generate", tmp_path / "missing.rnnkit")
    assert code == 2 and "not found" in err


def test_generate_refuses_a_forecaster(cli, tmp_path):
    m = tmp_path / "f.rnnkit"
    assert cli("train", "--dataset", "airline", "--epochs", "1", "--units", "2", "-q",
               "--out", m)[0] == 0
    code, _, err = cli("generate", m)
    assert code == 2 and "is a 'forecaster' model; expected a character language model" in err
