"""`rnnkit predict` and `rnnkit evaluate` with a sequence classifier made by
`rnnkit train --task classify`: everything they need (columns, NaN policy, scaler
or vocabulary, classes) comes from the model file; the data file is read the way
training read it.
"""
from __future__ import annotations

import io
import json
import sys

from rnnkit.cli._common import CliError, existing_file
from rnnkit.cli.classify import _cli_error, _load, _sha256

__all__ = ["predict_sequences", "evaluate_sequences"]


def _load_model(args):
    from rnnkit.tools.classifier import Classifier

    return Classifier.load(existing_file(args.model))


def _examples(args, clf, require_label: bool):
    prep = clf.prep
    # the stored policy unless the user asks for another one (--nan drop / fill)
    nan = args.nan if getattr(args, "nan", None) not in (None, "raise") else prep.nan_policy
    cols = prep.columns
    if prep.input == "text":
        return _load(args, args.data, require_label=require_label)
    return _load(args, args.data, id=cols["id"], label=cols["label"], time=cols["time"],
                 features=prep.features, nan_policy=nan, require_label=require_label)


def predict_sequences(args) -> int:
    """`rnnkit predict` with a classifier: one row per sequence."""
    from rnnkit.util.atomic import write_text

    clf = _load_model(args)
    if getattr(args, "future", None) is not None:
        raise CliError("--future forecasts steps past the end of a series, but MODEL is a "
                       "sequence classifier (one label per sequence); drop --future")
    d = _examples(args, clf, require_label=False)
    prep = clf.prep
    P = clf.predict_proba(prep.encode(d.raw))                                  # (N, C)
    classes = prep.classes
    rows = []
    for i, name in enumerate(d.ids):
        row = {"id": name}
        if d.labels is not None:
            row["label"] = d.labels[i]
        row["predicted"] = classes[int(P[i].argmax())]
        row.update({f"p_{c}": float(P[i, k]) for k, c in enumerate(classes)})
        rows.append(row)
    if getattr(args, "format", "csv") == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        import csv

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    if getattr(args, "out", None):
        write_text(args.out, text)
        print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def evaluate_sequences(args) -> int:
    """`rnnkit evaluate` with a classifier: accuracy, macro-F1 and the majority baseline."""
    from rnnkit.tools.classify_metrics import accuracy, confusion, macro_f1

    clf = _load_model(args)
    d = _examples(args, clf, require_label=True)
    ids, raw, labels = d.ids, d.raw, d.labels
    scope = "every sequence of the file"
    if not getattr(args, "all", False) and _sha256(args.data) == clf.meta.get("source_sha256"):
        test = set(clf.meta["test_ids"])
        keep = [i for i, n in enumerate(ids) if n in test]
        ids, raw, labels = [ids[i] for i in keep], [raw[i] for i in keep], \
            [labels[i] for i in keep]
        scope = "the held-out test part of the training file (--all: every sequence)"
    prep = clf.prep
    try:
        y = prep.label_ids(labels, ids)
    except ValueError as e:
        raise _cli_error(e) from None
    pred = clf.predict_proba(prep.encode(raw)).argmax(axis=1)
    major = prep.classes.index(clf.meta["majority_class"])
    metrics = {"sequences": len(y), "scope": scope, "accuracy": accuracy(y, pred),
               "macro_f1": macro_f1(y, pred),
               "majority_accuracy": accuracy(y, [major] * len(y)),
               "classes": prep.classes,
               "confusion": confusion(y, pred, len(prep.classes)).tolist()}
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"scored {metrics['sequences']} sequences: {scope}")
    for k in ("accuracy", "macro_f1", "majority_accuracy"):
        print(f"{k:<18} {metrics[k]:.4f}")
    print("confusion (rows: true, columns: predicted; " + ", ".join(prep.classes) + ")")
    for c, row in zip(prep.classes, metrics["confusion"]):
        print(f"  {c:<16}" + " ".join(f"{v:>6d}" for v in row))
    return 0
