import json
import os
from html.parser import HTMLParser

from rnnkit.tools.classify import run_classification
from rnnkit.tools.classify_report import write_classify_report


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href")]


def test_report_files_links_and_results_json(order_data, tmp_path):
    cmp = run_classification(order_data, cells=("gru",), seeds=2, epochs=2, units=4)
    paths = write_classify_report(cmp, tmp_path / "rep")
    res = json.loads(open(paths["results.json"]).read())
    assert res["winner"] == cmp.winner and res["task"] == "classify"
    assert set(res["cells"]) == {"gru"} and len(res["cells"]["gru"]["accuracy"]) == 2
    assert set(res["baselines"]) == set(cmp.baselines)
    assert all(t["test"] == "McNemar exact" for t in res["paired_tests"])
    html = open(paths["report.html"], encoding="utf-8").read()
    assert cmp.headline.split(":")[0] in html
    parser = _Refs()
    parser.feed(html)
    for ref in parser.refs:
        assert not os.path.isabs(ref) and (tmp_path / "rep" / ref).is_file()
    with open(paths["learning_curves.png"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in os.listdir(tmp_path / "rep") if f.endswith(".tmp")]
