#!/usr/bin/env bash
# The README's first command: installs what is missing, builds and installs spprof, records
# the bundled example (three functions that split the CPU 60/30/10) and shows its analysis.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/install.sh
BIN="$(bazel info --color=no bazel-bin 2>/dev/null)"
bazel build --color=no --curses=no //tests/programs:hot_split
OUT="${TMPDIR:-/tmp}/spprof-demo.sptrace"

echo
echo "\$ spprof-record -o $OUT -- hot_split"
set +e
spprof-record -o "$OUT" -- "$BIN/tests/programs/hot_split"
echo "(hot_split exited with status $? — its own status, passed through)"
set -e
echo
echo "\$ spprof-analyze info $OUT"
spprof-analyze info "$OUT"
echo
echo "\$ spprof-analyze top $OUT"
spprof-analyze top "$OUT"
