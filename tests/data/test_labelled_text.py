import pytest

from rnnkit.data.labelled_text import read_labelled_text


def test_reads_label_tab_text_and_skips_blank_lines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("pos\tWhat a film.\n\nneg \tTwo hours\tlost.\n")
    t = read_labelled_text(p)
    assert t.labels == ["pos", "neg"]
    assert t.texts == ["What a film.", "Two hours\tlost."]   # only the first TAB splits
    assert t.lines == [1, 3]


@pytest.mark.parametrize("text, needle", [
    ("pos\tok\nno tab here\n", "line 2 of"),
    ("\tno label\n", "line 1 of"),
    ("pos\t   \n", "no text after its label"),
    ("\n\n", "holds no examples"),
])
def test_bad_lines_are_named(tmp_path, text, needle):
    p = tmp_path / "t.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=needle):
        read_labelled_text(p)


def test_prediction_accepts_bare_text_but_not_a_mix(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("just text\nmore text\n")
    t = read_labelled_text(p, require_label=False)
    assert t.labels is None and t.texts == ["just text", "more text"]
    p.write_text("pos\tlabelled\nbare\n")
    with pytest.raises(ValueError, match="mixes label<TAB>text lines \\(line 1\\) with bare"):
        read_labelled_text(p, require_label=False)
