"""``python -m rnnkit.kernels.cpu``: build (or find) the native CPU kernels now, and say where.

``make install`` runs it, so that no first forward pass, timing or progress bar includes the
build. ``--key`` also prints what the cache key was computed from. ``--calibrate`` then times
the native LSTM against torch's oneDNN LSTM on this CPU (minutes; best idle) and writes the result
beside the build, where ``backend="auto"`` reads it (calibrate.py). Exit status: 0 when the
kernel loads or is turned off by ``RNNKIT_CPU_KERNEL=0``, 1 when it can't be built (rnnkit then
runs the torch / reference kernels) or ``--calibrate`` has nothing to calibrate.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Optional, Sequence

from rnnkit.kernels.cpu import build


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.kernels.cpu",
                                     description="Build or find rnnkit's native CPU kernels.")
    parser.add_argument("--key", action="store_true",
                        help="also print what the cache key is computed from")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure where the native LSTM beats torch's oneDNN LSTM on this "
                             "CPU, for backend='auto' (takes minutes; run it on an idle machine)")
    args = parser.parse_args(argv)
    if not logging.getLogger("rnnkit").handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    reason = build.why_unavailable()
    if args.key:
        print(json.dumps(build.cache.key_inputs(build.FLAG_SETS[0], build.CSRC), indent=1,
                         sort_keys=True))
    if reason is not None:
        print(f"rnnkit native CPU kernels: unavailable ({reason})")
        if args.calibrate:
            return 1
        return 0 if os.environ.get("RNNKIT_CPU_KERNEL", "1") == "0" else 1
    how = "built" if build.built else "found"
    print(f"rnnkit native CPU kernels: ready, {how} in {build.build_seconds:.1f} s "
          f"(OpenMP: {'yes' if build.openmp else 'no'}; {build.load().blas_name()}) "
          f"from {build.loaded_from}")
    if args.calibrate:
        from rnnkit.kernels.cpu import calibrate

        where = calibrate.calibrate()
        points = json.loads(where.read_text())["points"]
        kept = sum(1 for p in points if p["ratio"] >= calibrate.MARGIN)
        print(f"calibration written to {where}: backend='auto' keeps the native LSTM at {kept} "
              "of the measured points, torch's oneDNN LSTM at the others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
