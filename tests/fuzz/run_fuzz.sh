#!/usr/bin/env bash
# run_fuzz.sh: builds //tests/fuzz:reader_fuzz with libFuzzer (--config=fuzz: clang, ASan, UBSan)
# and fuzzes the reader for SECONDS (default 60) over a copy of testdata/fuzz/reader plus the
# golden files. Exits non-zero if the fuzzer finds a crash, a broken promise, a leak, a timeout or
# an out-of-memory; the input that did it is kept in the printed artifacts directory.
#   tests/fuzz/run_fuzz.sh [SECONDS]
set -euo pipefail

secs="${1:-60}"
cd "$(dirname "$0")/../.."

# A separate output base: --config=fuzz switches the compiler to clang, which would otherwise
# throw away the main server's analysis cache (and its gcc outputs) on every fuzz run.
fuzz_bazel=(bazel --output_base="${SPPROF_FUZZ_OUTPUT_BASE:-$HOME/.cache/spprof-bazel-fuzz}")
# No convenience symlinks: this server would point bazel-<dir>, bazel-bin and bazel-out at its
# own output base, and the main server's next `bazel test //...` (a second tests/run.sh in the
# same checkout) would then walk into that foreign execroot as if it were a package.
"${fuzz_bazel[@]}" build --color=no --curses=no --config=fuzz --symlink_prefix=/ \
    //tests/fuzz:reader_fuzz
bin="$("${fuzz_bazel[@]}" info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/reader_fuzz"

work="$(mktemp -d "${TMPDIR:-/tmp}/spprof-fuzz.XXXXXX")"
mkdir -p "$work/corpus" "$work/artifacts"
cp testdata/fuzz/reader/* "$work/corpus/"
cp testdata/good/*.sptrace testdata/bad/*.sptrace "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)

echo "fuzzing the reader for ${secs}s from ${seeds} seeds in $work"
set +e
"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
set -e
tail -n 25 "$work/fuzz.log"

found=$(ls "$work/artifacts" | wc -l)
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "run_fuzz.sh: the fuzzer failed (exit $rc, $found artifacts in $work/artifacts):"
    ls -l "$work/artifacts"
    echo "replay one with: $bin <artifact>"
    exit 1
fi
echo "run_fuzz.sh: no crash in ${secs}s; the corpus grew from ${seeds} to $(ls "$work/corpus" | wc -l) files ($work/corpus)"
