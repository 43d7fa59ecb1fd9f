#!/usr/bin/env bash
# analyze_bench.sh: runs the spprof-analyze/spprof-diff benchmark (1 and 10 million samples;
# --big adds 50 million) and prints its table. Arguments go to analyze_bench:
#   tests/bench/analyze/analyze_bench.sh [--big] [--sizes 1,10] [--no-perf] [--perf-max M] [--keep]
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec bazel run //tests/bench/analyze:analyze_bench -- "$@"
