"""`rnnkit bench`: its help, and a tiny end-to-end run (one workload, one round)."""
import torch

from rnnkit.tools import bench as bench_core


def test_help_describes_the_short_run(cli):
    code, out, _ = cli("bench", "--help")
    assert code == 0 and out.startswith("usage: rnnkit bench")
    for flag in ("--quick", "--suite", "--family", "--threads", "--rounds", "--budget",
                 "--samples", "--no-peers"):
        assert flag in out


def test_one_streaming_workload_prints_the_machine_and_a_parity_ok_row(cli):
    threads = torch.get_num_threads()
    code, out, err = cli("bench", "--suite", "streaming", "--family", "gru", "--rounds", "1",
                         "--budget", "0.02")
    assert code == 0, err
    assert torch.get_num_threads() == threads  # the pinned count is given back
    lines = out.splitlines()
    assert lines[0].startswith(f"torch {torch.__version__} | CPU: ") and "threads: 1" in lines[0]
    header = lines[1].split()
    assert "parity" in header and "speed-up" in header
    rows = [ln for ln in lines if ln.startswith(("gru", "lstm", "rnn"))]
    assert len(rows) == 1 and rows[0].startswith("gru infer T=1 B=1 H=128")
    assert rows[0][bench_core.HEADER.index("parity"):].split()[0] == "ok"
    assert rows[0].rstrip().endswith("%")


def test_a_tiny_seed_run_checks_parity_then_prints_the_epoch_times(cli):
    code, out, err = cli("bench", "--suite", "seed", "--family", "lstm", "--samples", "64",
                         "--rounds", "1", "--budget", "0.01", "--no-peers")
    assert code == 0, err
    lines = out.splitlines()
    rows = [ln for ln in lines if ln.startswith(("gru", "lstm", "rnn"))]
    assert len(rows) == 1 and rows[0].startswith("lstm seed model fit N=64 T=100 B=32")
    assert rows[0][bench_core.HEADER.index("parity"):].split()[0] == "ok"
    epoch = lines[lines.index(rows[0]) + 1]
    assert epoch.startswith("    one fit epoch: rnnkit ") and "plain PyTorch loop" in epoch
    assert "peer" not in out


def test_a_failed_parity_check_reports_no_speed_up(cli, monkeypatch):
    """The gate: a runner whose two sides disagree is FAILED and never timed."""
    def broken(w):
        pair = streaming(w)
        pair.parity = lambda: 1.0
        pair.rnnkit = pair.torch = _never
        return pair

    streaming = bench_core.RUNNERS["streaming"]
    monkeypatch.setitem(bench_core.RUNNERS, "streaming", broken)
    code, out, _ = cli("bench", "--suite", "streaming", "--family", "rnn", "--rounds", "1")
    assert code == 1
    row = next(ln for ln in out.splitlines() if ln.startswith("rnn infer"))
    assert "FAILED" in row and "x " not in row and "no speed-up" in row


def _never():
    raise AssertionError("a workload that failed parity must not be timed")


def test_bad_values_are_rejected_by_argparse(cli):
    code, _, err = cli("bench", "--rounds", "0")
    assert code == 2 and "--rounds" in err


def test_quick_means_the_quick_suite(cli, monkeypatch):
    import rnnkit.tools.bench as core
    seen = []
    monkeypatch.setattr(core, "measure", lambda w, *a: seen.append(w) or {"status": "ok"})
    monkeypatch.setattr(core, "format_row", lambda row: "row")
    quick = core.suites(samples=640)["quick"]
    assert cli("bench", "--quick")[0] == 0
    assert seen == quick
    seen.clear()
    assert cli("bench", "--suite", "quick")[0] == 0 and seen == quick
    code, _, err = cli("bench", "--quick", "--suite", "short")
    assert code == 2 and "not allowed with argument" in err
