from rnnkit import demo


def test_demo_runs_and_reports_falling_loss(capsys):
    demo.main(epochs=5)
    out = capsys.readouterr().out
    losses = [float(line.split("train mse")[1].split()[0]) for line in out.splitlines()
              if line.startswith("epoch")]
    assert len(losses) == 2 and losses[-1] < losses[0]
    assert "kernel:" in out


def test_sunspots_series_is_the_bundled_one():
    s = demo.load_sunspots()
    assert len(s) == 309 and s[0] == 5.0
