#!/usr/bin/env bash
# Builds spprof (optimised, default config) and installs its tools under PREFIX (default
# /usr/local): bin/spprof-record, bin/spprof-analyze, bin/spprof-diff, bin/spprof-convert and
# lib/spprof/libspprof.so, where spprof-record looks for the library.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${1:-${PREFIX:-/usr/local}}"

bash tests/install_deps.sh
BAZEL="bazel"
$BAZEL build --color=no --curses=no //recorder:spprof-record //recorder:libspprof.so \
    //analyze:spprof-analyze //analyze:spprof-diff //convert:spprof-convert
BIN="$($BAZEL info --color=no bazel-bin 2>/dev/null)"
install -d "$PREFIX/bin" "$PREFIX/lib/spprof"
install -m 0755 "$BIN/recorder/spprof-record" "$BIN/analyze/spprof-analyze" \
    "$BIN/analyze/spprof-diff" "$BIN/convert/spprof-convert" "$PREFIX/bin/"
install -m 0755 "$BIN/recorder/libspprof.so" "$PREFIX/lib/spprof/"
echo "installed spprof-record, spprof-analyze, spprof-diff and spprof-convert in $PREFIX/bin, libspprof.so in $PREFIX/lib/spprof"
