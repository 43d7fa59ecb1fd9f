#!/usr/bin/env bash
# tests/bench/overhead/run.sh: the recorder's CPU-sampling overhead, measured hyperfine-style
# against a baseline taken in the same session: a single-threaded and a four-threaded CPU-bound
# workload (cpu_bound.c), each at 10 ms and 1 ms, RUNS runs per tool, interleaved round-robin
# (baseline, spprof, perf, gperftools, baseline, ...) so drift of the machine hits every tool
# alike. perf and gperftools' libprofiler.so are measured on the same runs when installed.
# Prints medians with their spread (min-max) and the overhead of each median over the
# baseline's, for wall time and for CPU time (user + system). Figures, not a test.
# Usage: tests/bench/overhead/run.sh   (RUNS=7 by default; SPPROF_BENCH_KEEP=1 keeps traces)
set -uo pipefail
cd "$(dirname "$0")/../../.."

RUNS="${RUNS:-7}"
bazel build --color=no --curses=no -c fastbuild //recorder:spprof-record //recorder:libspprof.so \
    //tests/bench/overhead:cpu_bound >/dev/null 2>&1 || {
    echo "overhead: the build failed (bazel build //recorder:spprof-record ...)"
    exit 1
}
BIN="$(bazel info --color=no bazel-bin 2>/dev/null)"
REC="$BIN/recorder/spprof-record"
PROG="$BIN/tests/bench/overhead/cpu_bound"
TMP="$(mktemp -d)"
trap '[ -z "${SPPROF_BENCH_KEEP:-}" ] && rm -rf "$TMP"' EXIT

PERF=""
if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$TMP/probe.data" -- true \
    >/dev/null 2>&1; then
    PERF="$(command -v perf)"
fi
GPERF=""
for lib in /usr/lib/x86_64-linux-gnu/libprofiler.so.0 /usr/lib/aarch64-linux-gnu/libprofiler.so.0 \
    /usr/lib/libprofiler.so.0; do
    [ -e "$lib" ] && GPERF="$lib" && break
done

echo "overhead: $(nproc) CPUs, $(uname -r), $RUNS runs per tool, interleaved"
echo "overhead: perf: ${PERF:-not installed}; gperftools: ${GPERF:-not installed}"
[ -z "$PERF" ] && echo "overhead: (apt-get install -y linux-perf to compare with perf)"
[ -z "$GPERF" ] && echo "overhead: (apt-get install -y libgoogle-perftools4 for gperftools)"

# Runs one measured command; appends "wall_s cpu_s" to $1 and, for spprof, the summary line's
# recorder share and rate to $1.extra.
measure() {
    local out="$1"
    shift
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$TMP/time" "$@" >/dev/null 2>"$TMP/stderr"
    end=$(date +%s%N)
    local cpu
    cpu=$(awk '{printf "%.3f", $1 + $2}' "$TMP/time")
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.4f", (b - a) / 1e9}') $cpu" >>"$out"
    if grep -q "recorder CPU" "$TMP/stderr"; then
        sed -n 's/.*, \([0-9]*\) Hz of \([0-9]*\) Hz asked.*recorder CPU \([0-9.]*\)%.*/\3 \1 \2/p' \
            "$TMP/stderr" >>"$out.extra"
    fi
}

# median and spread of column $2 of file $1: "median min max"
stats() {
    awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR]=$1} END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f %.3f", m, v[1], v[NR] }'
}

printf "\n%-7s %-5s %-10s %22s %9s %22s %9s  %s\n" workload ms tool "wall s: median (min-max)" \
    "wall +%" "cpu s: median (min-max)" "cpu +%" "notes"
for workload in "single 1 30" "four 4 15"; do
    set -- $workload
    name=$1 threads=$2 steps=$3
    for ms in 10 1; do
        hz=$((1000 / ms))
        tools="base spprof"
        [ -n "$PERF" ] && tools="$tools perf"
        [ -n "$GPERF" ] && tools="$tools gperftools"
        for tool in $tools; do rm -f "$TMP/$tool" "$TMP/$tool.extra"; done
        for ((run = 0; run < RUNS; run++)); do
            for tool in $tools; do
                case $tool in
                base) measure "$TMP/$tool" "$PROG" "$threads" "$steps" ;;
                spprof) measure "$TMP/$tool" "$REC" -o "$TMP/t.sptrace" --interval "$ms" -- \
                    "$PROG" "$threads" "$steps" ;;
                perf) measure "$TMP/$tool" "$PERF" record -q -e cpu-clock -F "$hz" -g \
                    -o "$TMP/perf.data" -- "$PROG" "$threads" "$steps" ;;
                gperftools) measure "$TMP/$tool" env LD_PRELOAD="$GPERF" \
                    CPUPROFILE="$TMP/g.prof" CPUPROFILE_FREQUENCY="$hz" \
                    "$PROG" "$threads" "$steps" ;;
                esac
            done
        done
        read -r base_wall _ _ <<<"$(stats "$TMP/base" 1)"
        read -r base_cpu _ _ <<<"$(stats "$TMP/base" 2)"
        for tool in $tools; do
            read -r wm wlo whi <<<"$(stats "$TMP/$tool" 1)"
            read -r cm clo chi <<<"$(stats "$TMP/$tool" 2)"
            note=""
            if [ -s "$TMP/$tool.extra" ]; then
                read -r share _ _ <<<"$(stats "$TMP/$tool.extra" 1)"
                read -r rate _ _ <<<"$(stats "$TMP/$tool.extra" 2)"
                note="recorder CPU ${share}% (own count), ${rate%.*} Hz of $hz Hz"
            fi
            [ "$tool" = perf ] && note="-e cpu-clock -F $hz -g (frame pointers)"
            [ "$tool" = gperftools ] && note="CPUPROFILE_FREQUENCY=$hz (ITIMER_PROF)"
            printf "%-7s %-5s %-10s %8s (%s-%s) %+8.2f%% %8s (%s-%s) %+8.2f%%  %s\n" "$name" \
                "$ms" "$tool" "$wm" "$wlo" "$whi" \
                "$(awk -v a="$wm" -v b="$base_wall" 'BEGIN{print 100 * (a - b) / b}')" \
                "$cm" "$clo" "$chi" \
                "$(awk -v a="$cm" -v b="$base_cpu" 'BEGIN{print 100 * (a - b) / b}')" "$note"
        done
    done
done
