"""The two small records of :mod:`rnnkit.datasets`: metadata alone, and metadata + data."""
from __future__ import annotations

import gzip
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Dict, Mapping, Tuple

__all__ = ["DatasetInfo", "Dataset", "read_package_bytes"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is, without its data (cheap: nothing is read from disk).

    ``licence`` names the terms of the data as shipped here, ``source`` where it was
    extracted from (package and file), ``citation`` the original reference, ``task``
    what it suits, ``licence_id`` a short
    licence label (SPDX where one exists), ``size`` a human summary, ``keys`` the entries of ``Dataset.data``
    with their shapes, ``files`` the package files holding it.
    """

    name: str
    description: str
    task: str
    source: str
    citation: str
    licence: str
    licence_id: str
    size: str
    keys: Mapping[str, str] = field(default_factory=dict)
    files: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-able dict (for ``rnnkit datasets`` and for printing)."""
        d = asdict(self)
        d["keys"] = dict(self.keys)
        d["files"] = list(self.files)
        return d


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: the metadata of :class:`DatasetInfo` plus ``data``.

    ``data`` maps names to numpy arrays, lists or a str (see ``info.keys`` for which);
    ``ds["sunspots"]`` is a shortcut for ``ds.data["sunspots"]``.
    """

    name: str
    description: str
    task: str
    source: str
    citation: str
    licence: str
    data: Mapping[str, Any]
    info: DatasetInfo = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise KeyError(f"key: {self.name!r} has no entry {key!r}; "
                           f"expected one of {sorted(self.data)}") from None

    def keys(self):
        return self.data.keys()

    def to_frame(self):
        """The equal-length entries of ``data`` as a pandas DataFrame (needs pandas).

        Scalars and entries of another length (e.g. a list of category names) are
        left out; a dataset with no table (the novel) raises TypeError.
        """
        import pandas as pd  # optional dependency (extra "data"), imported on demand

        cols = {k: v for k, v in self.data.items()
                if not isinstance(v, (str, bytes)) and hasattr(v, "__len__")}
        if not cols:
            raise TypeError(f"dataset {self.name!r} is not tabular (entries: {sorted(self.data)})")
        n = max(len(v) for v in cols.values())
        return pd.DataFrame({k: list(v) if getattr(v, "ndim", 1) != 1 else v
                             for k, v in cols.items() if len(v) == n})


def read_package_bytes(filename: str) -> bytes:
    """Bytes of a file shipped inside ``rnnkit.datasets`` (gunzipped if it ends in .gz).

    importlib.resources works from a wheel, a zip or an editable install alike.
    """
    raw = resources.files("rnnkit.datasets").joinpath(filename).read_bytes()
    return gzip.decompress(raw) if filename.endswith(".gz") else raw
