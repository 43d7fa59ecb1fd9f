#!/usr/bin/env bash
# signal_path_test.sh: the files on the SIGPROF path (sampler.c, unwind.c, ring.c) must not name
# anything that allocates, locks or uses stdio (sigsafe.h). Comments are stripped first, since
# they explain exactly those rules. Usage: signal_path_test.sh FILE...
set -u
forbidden='printf|fprintf|snprintf|vsnprintf|puts|fputs|fopen|fwrite|fflush|malloc|calloc|realloc|free|strdup|strerror|pthread_mutex_lock|pthread_mutex_unlock|pthread_cond_wait|syslog|dlsym|dlopen'
passed=0
failed=0
for f in "$@"; do
    code="$(perl -0pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g' "$f")"
    if grep -q '#include <stdio.h>' <<<"$code"; then
        echo "FAIL $f includes <stdio.h>" >&2
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
    hits="$(grep -nwE "$forbidden" <<<"$code" || true)"
    if [ -n "$hits" ]; then
        echo "FAIL $f names functions that are not async-signal-safe:" >&2
        echo "$hits" >&2
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
