"""Entry point of the `rnnkit` command (argparse; one module per subcommand).

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int``.
User errors print ``rnnkit CMD: error: MESSAGE`` on stderr and exit with status 2
(as argparse does for a bad flag), without a traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from rnnkit._version import __version__
from rnnkit.cli import (bench, compare, convert, datasets, diagnose, evaluate, generate, info,
                        predict, train)
from rnnkit.cli._common import USER_ERRORS

SUBCOMMANDS = (datasets, compare, train, predict, evaluate, diagnose, generate, bench, convert,
               info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks (RNN, LSTM, GRU) on PyTorch: train, compare, diagnose.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        p = module.add_parser(sub)
        p.set_defaults(func=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = [str(a) for a in argv]  # `train --nproc N` relaunches the same command
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as e:
        print(f"rnnkit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
