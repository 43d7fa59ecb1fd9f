#!/usr/bin/env bash
# diff_e2e_test.sh: real traces from the recorder. e2e_hot is built twice; between the builds its
# hot function moves from hot_old to hot_new. Recorded with spprof-record, spprof-diff must show
# the move as the largest change, and --fail-if-slower must trip on hot_new (exit 1, one line).
# Also checks that aggregate keeps the answer. Tagged "preload": it runs the LD_PRELOAD recorder.
set -uo pipefail
record="$1" analyze="$2" diff="$3" before_bin="$4" after_bin="$5"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failed=0
check() { # check DESCRIPTION COMMAND...
    local what="$1"
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failed=$((failed + 1)); fi
}

"$record" -i 2 -o "$tmp/before.sptrace" -- "$before_bin" > "$tmp/before.out" 2>&1
check "the original build is recorded" test -s "$tmp/before.sptrace"
"$record" -i 2 -o "$tmp/after.sptrace" -- "$after_bin" > "$tmp/after.out" 2>&1
check "the moved build is recorded" test -s "$tmp/after.sptrace"

"$diff" --no-color --format csv "$tmp/before.sptrace" "$tmp/after.sptrace" > "$tmp/diff.csv" 2> "$tmp/diff.err"
check "spprof-diff answers (exit 0 without a gate)" test $? -eq 0
first=$(sed -n 2p "$tmp/diff.csv" | cut -d, -f2)
check "the largest change is the moved function (got '$first')" \
    test "$first" = hot_old -o "$first" = hot_new
change=$(grep '^cpu,hot_new,' "$tmp/diff.csv" | cut -d, -f5)
check "hot_new's self share grew by more than 40 points (got $change)" \
    awk -v c="$change" 'BEGIN { exit !(c > 40) }'
noise=$(grep '^cpu,hot_new,' "$tmp/diff.csv" | cut -d, -f8)
check "and that is not noise" test "$noise" = 0

"$diff" --fail-if-slower 10 "$tmp/before.sptrace" "$tmp/after.sptrace" > "$tmp/gate.out" 2> "$tmp/gate.err"
status=$?
check "--fail-if-slower 10 trips: exit 1 (got $status)" test "$status" -eq 1
check "naming hot_new" grep -q '^spprof-diff: slower: hot_new: self share grew by' "$tmp/gate.err"
check "and nothing that did not grow" test "$(grep -c ': hot_old:' "$tmp/gate.err")" -eq 0

"$diff" --fail-if-slower 10 "$tmp/after.sptrace" "$tmp/before.sptrace" > /dev/null 2> "$tmp/back.err"
check "the other way round, hot_old is the one that grew" grep -q ': hot_old: self share' "$tmp/back.err"

"$analyze" aggregate "$tmp/before.sptrace" -o "$tmp/before.agg" > /dev/null &&
    "$analyze" aggregate "$tmp/after.sptrace" -o "$tmp/after.agg" > /dev/null
"$diff" --no-color --format csv "$tmp/before.agg" "$tmp/after.agg" > "$tmp/diff-agg.csv"
check "spprof-diff gives the same answer on aggregates" cmp -s "$tmp/diff.csv" "$tmp/diff-agg.csv"

if [ "$failed" -ne 0 ]; then
    echo "diff_e2e_test: $failed failed; traces and outputs in $tmp"
    sed 's/^/  /' "$tmp/diff.csv" "$tmp/gate.err" "$tmp/before.out" "$tmp/after.out"
    exit 1
fi
echo "diff_e2e_test: all passed"
