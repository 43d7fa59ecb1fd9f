#!/usr/bin/env bash
# pprof_go_test.sh: the real reader. `go tool pprof` (Debian's golang-go) reads what
# `spprof-convert -f pprof` writes: -raw, -top with the totals, thread labels as tags, the heap's
# sample types, awkward names, and a trace the real recorder wrote. Optional: without Go it says
# so and passes, so the suite never depends on a download.
set -uo pipefail
convert="$(realpath "$1")" writer="$(realpath "$2")" recorded="$(realpath "$3")"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
    local what="$1"
    shift
    if "$@"; then passed=$((passed + 1)); else echo "FAIL $what"; failed=$((failed + 1)); fi
}

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/lib/go/bin/go ] && GO=/usr/lib/go/bin/go
if [ -z "$GO" ]; then
    echo "skipped: go is not installed (apt-get install golang-go gives 'go tool pprof')"
    echo "0 passed, 0 failed"
    exit 0
fi
export HOME="$tmp" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOFLAGS= GOTOOLCHAIN=local
pprof() { "$GO" tool pprof -symbolize=none "$@" 2> "$tmp/pprof.err"; }

"$writer" "$tmp" || { echo "FAIL cannot write the test traces"; echo "0 passed, 1 failed"; exit 1; }
cd "$tmp" || exit 1
for t in known heap names; do
    "$convert" "$t.sptrace" -f pprof -o "$t.pb.gz" --force
    check "$t.sptrace exports to pprof" test -s "$t.pb.gz"
done
"$convert" "$recorded" -f pprof -o recorded.pb.gz --force

pprof -raw known.pb.gz > raw.txt
check "go tool pprof -raw reads the known profile" test $? -eq 0 -a ! -s pprof.err
check "-raw: the sample types, cpu the default" grep -qx 'samples/count cpu/nanoseconds\[dflt\]' raw.txt
check "-raw: the period" grep -qx 'Period: 10000000' raw.txt
# Sample lines read "COUNT CPU_NS: LOCATION...".
total=$(awk '/^Samples:/ {s = 1; next} /^Locations/ {s = 0} s && $2 ~ /:$/ {t += $2 + 0} END {print t}' raw.txt)
check "-raw: the samples add up to 1.05 s (got $total)" test "$total" = 1050000000
check "-raw: thread labels" grep -q 'thread:\[worker\]' raw.txt

pprof -top -nodecount=20 known.pb.gz > top.txt
check "-top: the total" grep -q 'Total samples = 1050ms' top.txt
check "-top: leaf_a 500 ms self" awk '$NF == "leaf_a" && $1 == "500ms" {ok = 1} END {exit !ok}' top.txt
check "-top: fib 200 ms self" awk '$NF == "fib" && $1 == "200ms" {ok = 1} END {exit !ok}' top.txt

pprof -top -tagfocus=thread=worker known.pb.gz > worker.txt
check "-tagfocus thread=worker: 100 ms, all in leaf_a" \
    awk '/^Showing nodes accounting for 100ms,/ {a = 1} $NF == "leaf_a" && $1 == "100ms" {b = 1} END {exit !(a && b)}' worker.txt

pprof -top -sample_index=inuse_space heap.pb.gz > inuse.txt
check "heap: 900 B in use at the end" grep -q 'of 900B total' inuse.txt
pprof -top -sample_index=alloc_space heap.pb.gz > alloc.txt
check "heap: 4,900 B allocated" grep -q 'of 4900B total' alloc.txt

pprof -traces names.pb.gz > names.txt
check "awkward names: -traces reads them" test $? -eq 0
check "awkward names: ';' kept" grep -q 'semi;colon' names.txt
check "awkward names: quotes kept" grep -qF "with space \"quoted\" 'apos'" names.txt
check "awkward names: the thread label" grep -qF 'thr;ead "one" <&>' names.txt

pprof -top recorded.pb.gz > recorded.txt
check "a recorded trace: hot_sixty on top, 60%" \
    awk '$NF == "hot_sixty" && $2 ~ /^60/ {ok = 1} END {exit !ok}' recorded.txt

if [ "$failed" -gt 0 ]; then
    echo "--- last pprof stderr:"; cat pprof.err
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
