import subprocess
import sys

import pytest

import rnnkit
from rnnkit.cli.main import SUBCOMMANDS, build_parser, main

COMMANDS = ["datasets", "compare", "train", "predict", "evaluate", "diagnose", "generate", "bench",
            "convert", "info"]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnnkit {rnnkit.__version__}"


def test_help_lists_the_program_and_every_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: rnnkit" in out
    for cmd in COMMANDS:
        assert cmd in out


def test_every_subcommand_module_is_registered():
    assert len(SUBCOMMANDS) == len(COMMANDS)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_subcommand_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: rnnkit {cmd}")


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: rnnkit" in capsys.readouterr().out


def test_unknown_subcommand_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "rnnkit", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("rnnkit ")
