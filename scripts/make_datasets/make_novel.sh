#!/usr/bin/env bash
# Extract "Pride and Prejudice" from Debian's r-cran-janeaustenr (R lazy-load data
# base) and write it gzipped into the package.  Needs Rscript (apt-get install r-base-core)
# and fetch_sources.sh to have run.  The novel (1813) is in the public domain; the
# janeaustenr packaging is MIT (Julia Silge), its text comes from Project Gutenberg.
set -euo pipefail
WORK=${WORK:-/tmp/rnnkit-src}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RDATA="$WORK/x/r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data/Rdata"
Rscript -e "e <- new.env(); lazyLoad('$RDATA', envir = e); \
  writeLines(enc2utf8(e\$prideprejudice), '$WORK/pride_and_prejudice.txt', useBytes = TRUE)"
# -n: no file name/timestamp in the header, so reruns are byte-identical.
gzip -9 -n -c "$WORK/pride_and_prejudice.txt" > "$ROOT/src/rnnkit/datasets/pride_and_prejudice.txt.gz"
ls -l "$ROOT/src/rnnkit/datasets/pride_and_prejudice.txt.gz"
