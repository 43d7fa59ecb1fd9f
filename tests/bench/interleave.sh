# interleave.sh: sourced by the benchmark scripts. Runs every configuration in turn, round after
# round, so that a machine that slows down part way slows them all alike, and takes medians.
#   interleave ROUNDS CONFIG...   calls run_one CONFIG (the caller's) ROUNDS times per CONFIG
#   median                         the median of the numbers on stdin, one per line

interleave() {
    local rounds="$1" r c
    shift
    for ((r = 0; r < rounds; r++)); do
        for c in "$@"; do
            run_one "$c"
        done
    done
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
