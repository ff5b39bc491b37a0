"""Moved to :mod:`rnnkit.util.atomic` (training and tools both use it, and training
must not import tools); re-exported here so existing imports keep working."""
from rnnkit.util.atomic import (atomic_path, remove_stale_temps, temp_prefix, write_bytes,
                                write_text)

__all__ = ["atomic_path", "write_text", "write_bytes", "temp_prefix", "remove_stale_temps"]
