#!/usr/bin/env bash
# The README's second command and CI's only step: installs what is missing, builds everything
# and runs every test: the default build, then ASan+UBSan and TSan builds of the tests that do
# not preload the recorder, then the libFuzzer target on the reader for a bounded time.
# Ends with one line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${SPPROF_FUZZ_SECONDS:-60}"
LOG_DIR="$(mktemp -d)"
BAZEL_FLAGS=(--color=no --curses=no)
passed=0
failed=0
failures=()

bash tests/install_deps.sh || { echo "tests: could not install dependencies"; echo "0 passed, 1 failed"; exit 1; }

# Counts Bazel's per-target verdicts in a log.
tally() {
    local log="$1" label="$2" p f
    p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
    f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log" || true)
    passed=$((passed + p))
    failed=$((failed + f))
    while read -r t; do failures+=("$label $t"); done < <(grep -oE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log" | awk '{print $1}')
    echo "== $label: $p passed, $f failed"
}

run_suite() {
    local label="$1"; shift
    local log="$LOG_DIR/$label.log"
    echo "== $label: bazel test $*"
    bazel test "${BAZEL_FLAGS[@]}" "$@" 2>&1 | tee "$log" | grep -E '^(//|ERROR|FAIL|Executed)' || true
    if grep -q '^ERROR:' "$log" && ! grep -qE '^//' "$log"; then
        failed=$((failed + 1))
        failures+=("$label build")
        echo "== $label: the build failed"
        return
    fi
    tally "$log" "$label"
}

run_suite default //...
run_suite asan --config=asan //...
run_suite tsan --config=tsan //...

echo "== fuzz: libFuzzer on the reader for ${FUZZ_SECONDS}s"
if bash tests/fuzz/run_fuzz.sh "$FUZZ_SECONDS" >"$LOG_DIR/fuzz.log" 2>&1; then
    passed=$((passed + 1))
    tail -n 3 "$LOG_DIR/fuzz.log"
else
    failed=$((failed + 1))
    failures+=("fuzz reader")
    tail -n 40 "$LOG_DIR/fuzz.log"
fi

if [ ${#failures[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
