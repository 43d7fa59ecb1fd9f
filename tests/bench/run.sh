#!/usr/bin/env bash
# run.sh: builds and runs the .sptrace format benchmarks and prints their figures table.
# With //analyze:spprof-analyze in the tree and building, `top` is timed too.
#   tests/bench/run.sh [--samples N] [--dir DIR] [--keep]
set -euo pipefail
cd "$(dirname "$0")/../.."

if bazel query //analyze:spprof-analyze >/dev/null 2>&1 && bazel build //analyze:spprof-analyze; then
    # bazel info names the default configuration's outputs; the bazel-bin symlink follows
    # whichever configuration (asan, tsan) built last.
    export SPPROF_ANALYZE="$(bazel info --color=no bazel-bin 2>/dev/null)/analyze/spprof-analyze"
else
    echo "run.sh: //analyze:spprof-analyze is missing or does not build; 'top' reads n/a" >&2
    export SPPROF_ANALYZE=""
fi
bazel run //tests/bench:format_bench -- "$@"
