#!/usr/bin/env bash
# run.sh: overhead of allocation recording on an allocation-heavy program (alloc_bench.c), all
# configurations in the same run, interleaved so that a busy machine slows them alike:
#   baseline                 the program alone
#   spprof --no-alloc        the recorder with allocation recording off (interposition only)
#   spprof hooks only        --alloc-sample 2^40: every allocation is counted against the
#                            sampling countdown, none is sampled (the hooks' own cost)
#   spprof (default)         Poisson sampling every 512 KiB
#   spprof --alloc-sample all  every allocation and free
#   heaptrack                the same program under heaptrack, when it is installed
# Prints, per configuration, the median wall time and CPU time (user + sys, children included:
# heaptrack's interpreter and compressor count) over the repetitions, the ratios to the
# baseline, and heaptrack against "all".
# By default it measures the program with 4 threads, then with 1 (where heaptrack pays no lock
# contention and the comparison with "all" is hardest); -t picks one thread count.
# The same work at every thread count: TOTAL_OPS replacements (default 20M) shared among the
# threads, so one thread runs ~1 s rather than a quarter second that the timer cannot resolve.
#   tests/bench/alloc/run.sh [-n REPEATS] [-t THREADS] [-o TOTAL_OPS] [-f]
# -f makes the program write every byte it allocates (a lighter allocation load per second).
set -euo pipefail
cd "$(dirname "$0")/../../.."
source tests/bench/interleave.sh

repeats=5
thread_counts="4 1"
total_ops=20000000
fill=""
while getopts "n:t:o:f" opt; do
    case "$opt" in
        n) repeats="$OPTARG" ;;
        t) thread_counts="$OPTARG" ;;
        o) total_ops="$OPTARG" ;;
        f) fill=full ;;
        *) echo "usage: $0 [-n REPEATS] [-t THREADS] [-o TOTAL_OPS] [-f]" >&2; exit 2 ;;
    esac
done

bazel build --color=no --curses=no //recorder:spprof-record //recorder:libspprof.so \
    //tests/bench/alloc:alloc_bench >&2
bin="$(bazel info bazel-bin 2>/dev/null)"
record="$bin/recorder/spprof-record"
program="$bin/tests/bench/alloc/alloc_bench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

have_heaptrack=0
if command -v heaptrack >/dev/null 2>&1; then
    have_heaptrack=1
fi

configs=(baseline noalloc hooks default all)
[ "$have_heaptrack" = 1 ] && configs+=(heaptrack)

# Runs one configuration once; appends "wall cpu" to $work/<config>.times and keeps the last
# stderr (the recorder's summary line) in $work/<config>.err.
run_one() {
    local config="$1" out="$work/$1.out" err="$work/$1.err" times="$work/$1.t"
    local cmd=()
    local args=("${workload[@]}")
    case "$config" in
        baseline) cmd=("${args[@]}") ;;
        noalloc) cmd=("$record" -o "$work/noalloc.sptrace" --no-alloc -- "${args[@]}") ;;
        hooks) cmd=("$record" -o "$work/hooks.sptrace" --alloc-sample "$((1 << 40))" -- "${args[@]}") ;;
        default) cmd=("$record" -o "$work/default.sptrace" -- "${args[@]}") ;;
        all) cmd=("$record" -o "$work/all.sptrace" --alloc-sample all -- "${args[@]}") ;;
        heaptrack) cmd=(heaptrack -o "$work/heaptrack" "${args[@]}") ;;
    esac
    rm -f "$work"/heaptrack*.zst "$work"/heaptrack*.gz
    /usr/bin/time -f "%e %U %S" -o "$times" "${cmd[@]}" >"$out" 2>"$err"
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$times" >>"$work/$config.times"
    if [ "$config" = heaptrack ]; then
        { stat -c %s "$work"/heaptrack*.zst "$work"/heaptrack*.gz 2>/dev/null || true; } |
            awk '{ s += $1 } END { print s + 0 }' >"$work/heaptrack.size"
    fi
    if [ -n "$expect" ] && ! grep -q "$expect" "$out"; then
        echo "run.sh: $config did not run correctly:" >&2
        cat "$err" >&2
        exit 1
    fi
}

# Measures every configuration with THREADS threads and prints the table and ratios.
# The workload is the global array workload; expect is what its stdout must contain ("" for
# nothing); the first argument describes it.
measure() {
    local title="$1"
    rm -f "$work"/*.times
    echo "$title, $repeats runs each, interleaved; $(nproc) CPUs"
    interleave "$repeats" "${configs[@]}"

    declare -A wall cpu cpu_min
    for c in "${configs[@]}"; do
        wall[$c]=$(awk '{ print $1 }' "$work/$c.times" | median)
        cpu[$c]=$(awk '{ print $2 }' "$work/$c.times" | median)
        cpu_min[$c]=$(awk '{ print $2 }' "$work/$c.times" | sort -n | head -n 1)
    done

    # The minimum as well as the median: a VM whose speed jumps between two levels (as the
    # development VMs do, by a third) spreads the medians; each configuration's fastest run is
    # the one least disturbed.
    printf '\n%-26s %9s %9s %10s %10s %12s\n' configuration "wall s" "CPU s" "wall/base" "CPU/base" \
        "min CPU/base"
    for c in "${configs[@]}"; do
        label="$c"
        case "$c" in
            noalloc) label="spprof --no-alloc" ;;
            hooks) label="spprof hooks only" ;;
            default) label="spprof (sample 512 KiB)" ;;
            all) label="spprof --alloc-sample all" ;;
        esac
        printf '%-26s %9.3f %9.3f %10.3f %10.3f %12.3f\n' "$label" "${wall[$c]}" "${cpu[$c]}" \
            "$(echo "${wall[$c]} / ${wall[baseline]}" | bc -l)" "$(echo "${cpu[$c]} / ${cpu[baseline]}" | bc -l)" \
            "$(echo "${cpu_min[$c]} / ${cpu_min[baseline]}" | bc -l)"
    done

    echo
    for c in default all; do
        echo "spprof $c: $(grep -o 'spprof: .*' "$work/$c.err" | tail -n 1)"
    done
    # "all" waits for the writer when its buffers are full (as heaptrack does), within a bound:
    # say how much it recorded, which should be everything.
    seen=$(grep -o '[0-9]* allocations seen' "$work/all.err" | tail -n 1 | awk '{ print $1 }')
    recorded=$(grep -o 'seen, [0-9]* recorded' "$work/all.err" | tail -n 1 | awk '{ print $2 }')
    if [ -n "$seen" ] && [ -n "$recorded" ] && [ "$seen" -gt 0 ]; then
        printf 'spprof all recorded %s of %s allocations (%.1f%%; any rest dropped and counted)\n' \
            "$recorded" "$seen" "$(echo "100 * $recorded / $seen" | bc -l)"
    fi
    pct() { echo "($1 / $2 - 1) * 100" | bc -l; }
    printf '\noverhead of default sampling: %+.1f%% wall, %+.1f%% CPU (against the baseline)\n' \
        "$(pct "${wall[default]}" "${wall[baseline]}")" "$(pct "${cpu[default]}" "${cpu[baseline]}")"
    printf 'allocation recording alone (default against --no-alloc): %+.1f%% wall, %+.1f%% CPU\n' \
        "$(pct "${wall[default]}" "${wall[noalloc]}")" "$(pct "${cpu[default]}" "${cpu[noalloc]}")"
    # The split of that: the hooks' counting on every allocation and free, paid whatever the
    # sampling period, and the sampled blocks (unwinding, the table, the writer).
    printf '  of which the hooks (hooks only against --no-alloc): %+.1f%% wall, %+.1f%% CPU\n' \
        "$(pct "${wall[hooks]}" "${wall[noalloc]}")" "$(pct "${cpu[hooks]}" "${cpu[noalloc]}")"
    printf '  and the samples (default against hooks only): %+.1f%% wall, %+.1f%% CPU\n' \
        "$(pct "${wall[default]}" "${wall[hooks]}")" "$(pct "${cpu[default]}" "${cpu[hooks]}")"
    printf 'overhead of --alloc-sample all: %+.1f%% wall, %+.1f%% CPU\n' \
        "$(pct "${wall[all]}" "${wall[baseline]}")" "$(pct "${cpu[all]}" "${cpu[baseline]}")"
    if [ "$have_heaptrack" = 1 ]; then
        printf 'heaptrack / spprof all: %.2fx wall, %.2fx CPU; trace %s B vs heaptrack %s B\n' \
            "$(echo "${wall[heaptrack]} / ${wall[all]}" | bc -l)" "$(echo "${cpu[heaptrack]} / ${cpu[all]}" | bc -l)" \
            "$(stat -c %s "$work/all.sptrace")" "$(cat "$work/heaptrack.size")"
    else
        echo "heaptrack is not installed (apt-get install heaptrack): no comparison"
    fi
}

for threads in $thread_counts; do
    workload=("$program" "$threads" "$((total_ops / threads))" $fill)
    expect='^allocations'
    measure "alloc_bench: $threads threads x $((total_ops / threads)) replacements (mixed 16 B - 64 KiB, ${fill:-ends} written)"
    echo
done

# A real allocation-heavy program: clang compiling this repository's C files in one process
# (C++, ~1M allocations a second, mostly small), when clang is installed.
if command -v clang >/dev/null 2>&1 && [ -z "${ALLOC_BENCH_NO_CLANG:-}" ]; then
    sources=(tracefmt/*.c analyze/model.c analyze/view.c analyze/tree.c analyze/diff.c convert/*.c)
    mkdir -p "$work/objs"
    # clang writes one object per source into the current directory: a scratch one, via sh
    # (which the recorder follows into clang by exec, as it would in a build).
    workload=(sh -c 'cd "$1" && shift && exec clang -O2 -g -w -c "$@"' sh "$work/objs"
        -I"$PWD" "${sources[@]/#/$PWD/}")
    expect=''
    measure "clang -O2 -g on ${#sources[@]} C files of this repository"
fi
