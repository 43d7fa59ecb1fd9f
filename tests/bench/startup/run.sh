#!/usr/bin/env bash
# run.sh: what recording costs a short process, the case of a test suite or a build that starts
# hundreds of them: loading the recorder, naming frames (symbol tables, DWARF lines), writing
# and closing the trace. The program is alloc_bench with one thread and a short run (~40 ms of
# CPU in malloc and free, so glibc's frames are named with lines when libc6-dbg is installed).
# Configurations, interleaved:
#   baseline          the program alone
#   spprof            default recording, with a warm cache directory (as every process after
#                     the first finds it)
#   spprof, cache off SPPROF_CACHE_DIR=off: every process works everything out itself
#   --no-system-lines system libraries named from their symbol tables only (warm cache)
#   --no-alloc        CPU samples only (warm cache)
# Prints the median CPU time (user + sys) per process and what each configuration adds to the
# baseline, in milliseconds and as a ratio.
#   tests/bench/startup/run.sh [-n RUNS] [-o OPS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
source tests/bench/interleave.sh

runs=20
ops=300000
while getopts "n:o:" opt; do
    case "$opt" in
        n) runs="$OPTARG" ;;
        o) ops="$OPTARG" ;;
        *) echo "usage: $0 [-n RUNS] [-o OPS]" >&2; exit 2 ;;
    esac
done

bazel build --color=no --curses=no //recorder:spprof-record //recorder:libspprof.so \
    //tests/bench/alloc:alloc_bench //tests/bench/startup:cpu_of >&2
bin="$(bazel info bazel-bin 2>/dev/null)"
record="$bin/recorder/spprof-record"
program=("$bin/tests/bench/alloc/alloc_bench" 1 "$ops")
cpu_of="$bin/tests/bench/startup/cpu_of"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cache="$work/cache"

configs=(baseline warm off nolines noalloc)

# Runs one configuration once and appends its CPU milliseconds (user + sys, from wait4's rusage,
# to the microsecond) to $work/<config>.ms.
run_one() {
    local config="$1" cmd=() env=(SPPROF_CACHE_DIR="$cache")
    case "$config" in
        baseline) cmd=("${program[@]}") ;;
        warm) cmd=("$record" -o "$work/t.sptrace" -- "${program[@]}") ;;
        off) env=(SPPROF_CACHE_DIR=off) cmd=("$record" -o "$work/t.sptrace" -- "${program[@]}") ;;
        nolines) cmd=("$record" -o "$work/t.sptrace" --no-system-lines -- "${program[@]}") ;;
        noalloc) cmd=("$record" -o "$work/t.sptrace" --no-alloc -- "${program[@]}") ;;
    esac
    local us
    us=$(env "${env[@]}" "$cpu_of" "$work/err" "${cmd[@]}") ||
        { echo "run.sh: $config failed:" >&2; cat "$work/err" >&2; exit 1; }
    echo "$us" | awk '{ printf "%.2f\n", $1 / 1000 }' >>"$work/$config.ms"
}

# The cache as a second process finds it: filled by earlier recordings of the same program.
for ((i = 0; i < 3; i++)); do
    run_one warm
done
rm -f "$work"/*.ms

interleave "$runs" "${configs[@]}"

declare -A ms
for c in "${configs[@]}"; do
    ms[$c]=$(median <"$work/$c.ms")
done
echo "a short process (alloc_bench 1 thread, $ops replacements), $runs runs each, interleaved; $(nproc) CPUs"
printf '\n%-30s %12s %12s %10s\n' configuration "CPU ms" "added ms" "CPU/base"
for c in "${configs[@]}"; do
    case "$c" in
        baseline) label="baseline" ;;
        warm) label="spprof (warm cache)" ;;
        off) label="spprof, SPPROF_CACHE_DIR=off" ;;
        nolines) label="spprof --no-system-lines" ;;
        noalloc) label="spprof --no-alloc" ;;
    esac
    printf '%-30s %12.2f %12.2f %10.3f\n' "$label" "${ms[$c]}" \
        "$(echo "${ms[$c]} - ${ms[baseline]}" | bc -l)" "$(echo "${ms[$c]} / ${ms[baseline]}" | bc -l)"
done
echo
echo "cache after the runs: $(du -sh "$cache" 2>/dev/null | cut -f1) in $cache (removed at exit)"
