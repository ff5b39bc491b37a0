"""Small real datasets bundled with rnnkit (no download at run time).

    >>> from rnnkit import datasets
    >>> [d.name for d in datasets.list_datasets()]          # doctest: +NORMALIZE_WHITESPACE
    ['sunspots', 'airline', 'ecg', 'pride_and_prejudice', 'fortunes', 'cmudict',
     'spoken_digits', 'moving_digits']
    >>> ds = datasets.load("sunspots")
    >>> ds["sunspots"].shape, ds.licence.split(" (")[0]
    ((309,), 'Public domain')

Sources, citations and licences: README.md and LICENSES.md in this package.
"""
from rnnkit.datasets._base import Dataset, DatasetInfo
from rnnkit.datasets._registry import get_info, list_datasets, load

__all__ = ["Dataset", "DatasetInfo", "get_info", "list_datasets", "load"]
