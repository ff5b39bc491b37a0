"""`rnnkit datasets`: list the bundled data (name, task, size, source, licence)."""
from __future__ import annotations

import argparse
import json
import textwrap


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("datasets", help="list the bundled datasets",
                       description="List the datasets shipped with rnnkit: name, task, size, "
                                   "source and licence. Load one with rnnkit.datasets.load(NAME).")
    p.add_argument("name", nargs="?", help="show every detail of one dataset")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def run(args) -> int:
    from rnnkit import datasets

    infos = [datasets.get_info(args.name)] if args.name else datasets.list_datasets()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    if args.name:
        for key, value in infos[0].to_dict().items():
            if isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(value)
            print(textwrap.fill(f"{key}: {value}", width=100, subsequent_indent="    "))
        return 0
    # name, size and licence in columns; the task and source wrapped beneath, so that the
    # table fits in 100 columns
    rows = [(i.name, i.size, i.licence_id) for i in infos]
    widths = [max(len(r[k]) for r in rows + [("name", "size", "licence")]) for k in range(3)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format("name", "size", "licence").rstrip())
    print(fmt.format(*("-" * w for w in widths)))
    for info, r in zip(infos, rows):
        print(fmt.format(*r).rstrip())
        for label, text in (("task", info.task), ("source", info.source)):
            print(textwrap.fill(f"{label}: {text}", width=100, initial_indent="    ",
                                subsequent_indent="      "))
    print("\nDetails (description, citation, full licence): rnnkit datasets NAME")
    return 0
