/* writer_samples.c: what one drain pass writes besides allocations: threads (THREAD,
 * THREAD_NAME, THREAD_END), samples from every thread's ring and from the wall-clock sampler's,
 * markers and CHILD records, drops; and the --max-size check. Writer thread only, never in a
 * signal handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/events.h"
#include "recorder/procinfo.h"
#include "recorder/wall.h"
#include "recorder/writer_state.h"

/* Is our descriptor still our trace? A program may close it (closefrom) and open another file
 * under the same number; then nothing more may be written to it. */
int sp_writer_check_fd(void) {
    struct stat st;
    if (fstat(g.fd, &st) != 0 || st.st_dev != g.fd_dev || st.st_ino != g.fd_ino) {
        fail("the program closed or replaced the trace's file descriptor");
        return -1;
    }
    return 0;
}

/* Copies t's current name (set at registration, changed by renames) under the registry lock. */
static uint32_t current_name(sp_thread *t, char name[16], uint64_t *renamed_ns) {
    sp_threads_lock();
    memcpy(name, t->name, 16);
    uint32_t seq = t->name_seq;
    *renamed_ns = t->name_ns;
    sp_threads_unlock();
    name[15] = '\0';
    return seq;
}

/* THREAD (first seen) and THREAD_NAME (renamed since) records for t. */
void sp_writer_define_thread(sp_thread *t) {
    char name[16];
    uint64_t renamed_ns = 0;
    uint32_t seq = current_name(t, name, &renamed_ns);
    if (t->w_id != 0 && seq == t->w_name_seq) {
        return;
    }
    uint32_t name_id = spt_writer_cstring(g.w, name);
    if (name_id == 0 && name[0] != '\0') {
        fail(NULL);
        return;
    }
    if (t->w_id == 0) {
        t->w_id = spt_writer_thread(g.w, (uint32_t)t->s.os_tid, name_id, trace_time(t->start_ns));
        if (t->w_id == 0) {
            fail(NULL);
            return;
        }
        atomic_fetch_add(&g.threads, 1);
    } else if (spt_writer_thread_name(g.w, t->w_id, trace_time(renamed_ns), name_id) != SPT_OK) {
        fail(NULL);
        return;
    }
    t->w_name_seq = seq;
}

/* Is the file so close to --max-size that the next sample and the END record might not fit?
 * What is buffered since the last flush counts at its worst (uncompressed, plus zstd's
 * framing); when that bound reaches the cap, a flush tells the real size, so the trace ends
 * within CAP_MARGIN of the cap and never past it. */
int sp_writer_at_cap(void) {
    uint64_t max = g.config.max_size_bytes;
    if (max == 0) {
        return 0;
    }
    uint64_t pending = spt_writer_raw_bytes(g.w) - g.raw_at_flush;
    if (spt_writer_file_bytes(g.w) + pending + pending / 64 + CAP_MARGIN < max) {
        return 0;
    }
    if (pending > 0) {
        if (spt_writer_flush(g.w) != SPT_OK) {
            fail(NULL);
            return 1;
        }
        g.raw_at_flush = spt_writer_raw_bytes(g.w);
        g.last_flush_ns = clock_ns(CLOCK_MONOTONIC);
    }
    return spt_writer_file_bytes(g.w) + CAP_MARGIN >= max;
}

/* Makes room for n more frame ids in g.frames. Returns 0, or -1 when memory ran out. */
int sp_writer_reserve_frames(size_t n) {
    if (g.n_frames + n <= g.cap_frames) {
        return 0;
    }
    size_t cap = g.cap_frames ? g.cap_frames * 2 : 1024;
    while (cap < g.n_frames + n) {
        cap *= 2;
    }
    uint32_t *grown = realloc(g.frames, cap * sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    g.frames = grown;
    g.cap_frames = cap;
    return 0;
}

/* Whether pc is in the recorder's own code (libspprof.so's text). */
static int in_own_text(uint64_t pc) {
    if (g.own_hi == 0) {
        sp_own_text(&g.own_lo, &g.own_hi);
        if (g.own_hi == 0) {
            g.own_lo = g.own_hi = 1; /* unknown: nothing is ours */
        }
    }
    return pc >= g.own_lo && pc < g.own_hi;
}

/* Turns one ring entry into frames, a stack and a SAMPLE (docs/format.md section 5.3). Returns
 * the stack id, 0 when nothing was written. */
uint32_t sp_writer_record_sample(sp_thread *t, const sp_sample_entry *e) {
    if (g.capped || at_cap()) {
        g.capped = 1; /* the caller ends the trace after this pass */
        return 0;
    }
    uint32_t flags = (e->flags & SP_SAMPLE_IDLE) ? SPT_SAMPLE_IDLE : 0u;
    uint64_t time_ns = trace_time(e->time_ns);
    if (e->flags & SP_SAMPLE_REPEAT) {
        /* Wall clock: the thread has not run since its last remote sample, so its stack is
         * that one's (wall.c sends no addresses for it). */
        if (t->w_last_remote == 0) {
            return 0;
        }
        if (spt_writer_sample(g.w, t->w_id, time_ns, t->w_last_remote, e->weight, flags) !=
            SPT_OK) {
            fail(NULL);
            return 0;
        }
        atomic_fetch_add(&g.samples, 1);
        g.sample_weight += e->weight;
        return t->w_last_remote;
    }
    if (g.symbols == NULL) {
        g.symbols = sp_symbols_create(g.w, g.config.system_lines);
        if (g.symbols == NULL) {
            fail("out of memory for the symbol tables");
            return 0;
        }
    }
    if (g.tramp_hi == 0 && sp_symbols_function_range(g.symbols,
                                                     (uint64_t)(uintptr_t)sp_threads_trampoline,
                                                     &g.tramp_lo, &g.tramp_hi) != 0) {
        g.tramp_lo = g.tramp_hi = 1; /* unknown: the frame stays in */
    }
    g.n_frames = 0;
    if (e->flags & SP_SAMPLE_TRUNCATED) {
        /* Outermost placeholder: tools then show where the cut was instead of a wrong root. */
        if (g.truncated_frame == 0) {
            g.truncated_frame = sp_symbols_synthetic(g.symbols, "[truncated]");
        }
        if (g.truncated_frame == 0) {
            fail(NULL);
            return 0;
        }
        if (reserve_frames(1) != 0) {
            fail("out of memory for a stack");
            return 0;
        }
        g.frames[g.n_frames++] = g.truncated_frame;
        g.truncated_pending++;
    }
    /* A sample taken at the end of an interposed function (sampler.h, deferred samples), or
     * one that landed in it, starts in the recorder's own code: it is named by the interposed
     * function the program called (malloc, realloc, dlopen) alone, without the recorder's
     * helpers below it, which mean nothing to the program's author. */
    uint32_t own = 0;
    while (own < e->n_pcs && in_own_text(own == 0 ? e->pcs[0] : e->pcs[own] - 1)) {
        own++;
    }
    uint32_t innermost = own > 0 ? own - 1 : 0;
    /* The ring holds the stack innermost first; the format wants it outermost first. Each
     * address may expand to several frames (inlined calls). */
    for (uint32_t i = e->n_pcs; i-- > innermost;) {
        if (i > innermost && e->pcs[i] - 1 >= g.tramp_lo && e->pcs[i] - 1 < g.tramp_hi) {
            continue; /* the recorder's thread trampoline: not the program's frame */
        }
        const uint32_t *ids = NULL;
        size_t n = sp_symbols_frames(g.symbols, e->pcs[i], i > 0, &ids);
        if (n == 0) {
            fail(NULL);
            return 0;
        }
        if (own > 0 && i == innermost) {
            n = 1; /* the interposed function itself, not what is inlined into it */
        }
        if (reserve_frames(n) != 0) {
            fail("out of memory for a stack");
            return 0;
        }
        memcpy(g.frames + g.n_frames, ids, n * sizeof *ids);
        g.n_frames += n;
    }
    /* Inlined frames can push a stack past the format's limit; keep its innermost part. */
    size_t skip = g.n_frames > SPT_MAX_STACK_DEPTH ? g.n_frames - SPT_MAX_STACK_DEPTH : 0;
    uint32_t stack = spt_writer_stack_path(g.w, g.frames + skip, g.n_frames - skip);
    if (stack == 0 || spt_writer_sample(g.w, t->w_id, time_ns, stack, e->weight, flags) != SPT_OK) {
        fail(NULL);
        return 0;
    }
    atomic_fetch_add(&g.samples, 1);
    g.sample_weight += e->weight;
    /* A sample whose innermost frame is the recorder's own code landed in an interposed
     * function: the malloc hooks' time, which the writer's and handler's CPU does not include.
     * Samples taken at the end of dlopen or dlclose are the loader's time and do not count. */
    if (own > 0 && !(e->flags & SP_SAMPLE_LOADER)) {
        g.hook_weight += e->weight;
    }
    return stack;
}

void sp_writer_write_drops(spt_drop_reason reason, uint64_t count) {
    if (count == 0 || g.failed || g.capped) {
        return;
    }
    if (reason != SPT_DROP_TRUNCATED_STACK) {
        atomic_fetch_add(&g.dropped, count); /* truncated stacks were still recorded */
    }
    if (spt_writer_drops(g.w, trace_now_ns(), reason, count) != SPT_OK) {
        fail(NULL);
    }
}

/* Writes the queued markers and CHILD records. */
void sp_writer_write_events(size_t n_threads) {
    sp_event *list = sp_events_take();
    for (sp_event *e = list; e != NULL && !g.failed; e = e->next) {
        uint32_t text = spt_writer_cstring(g.w, e->text);
        if (text == 0 && e->text[0] != '\0') {
            fail(NULL);
            break;
        }
        spt_status st;
        if (e->kind == SP_EVENT_MARKER) {
            uint32_t thread = 0;
            for (size_t i = 0; i < n_threads; i++) {
                if (g.snap[i]->s.os_tid == e->tid && g.snap[i]->state == SP_THREAD_RUNNING) {
                    thread = g.snap[i]->w_id;
                }
            }
            st = spt_writer_marker(g.w, thread, trace_time(e->time_ns), text);
        } else {
            st = spt_writer_child(g.w, trace_time(e->time_ns), e->child_kind, (uint32_t)e->pid,
                                  text);
            g.children++;
        }
        if (st != SPT_OK) {
            fail(NULL);
        }
    }
    sp_events_free(list);
}

/* Wall clock: samples the sampler thread took of blocked threads (wall.h). The entry names its
 * thread slot and incarnation; a slot recycled since is skipped. */
void sp_writer_drain_remote(void) {
    sp_ring *ring = g.config.remote_ring;
    size_t size = 0;
    const sp_remote_entry *r;
    while ((r = sp_ring_peek(ring, &size)) != NULL) {
        const sp_sample_entry *e = (const sp_sample_entry *)(const void *)(r + 1);
        sp_thread *t = r->thread;
        if (!g.failed && size >= sizeof *r + sizeof *e &&
            size >= sizeof *r + sp_sampler_entry_bytes(e->n_pcs) && e->n_pcs <= g.max_depth &&
            t->incarnation == r->incarnation && t->w_id != 0) {
            uint32_t stack = record_sample(t, e);
            if (stack != 0) {
                t->w_last_remote = stack;
            }
        }
        sp_ring_release(ring);
    }
    uint64_t full = sp_ring_dropped_full(ring);
    write_drops(SPT_DROP_RING_FULL, full - g.dropped_remote);
    g.dropped_remote = full;
}

/* One thread's ring, drop counters and end. */
void sp_writer_drain_thread(sp_thread *t) {
    sp_ring *ring = t->s.ring;
    size_t size = 0;
    const sp_sample_entry *e;
    while (ring != NULL && (e = sp_ring_peek(ring, &size)) != NULL) {
        if (!g.failed && size >= sizeof *e && size >= sp_sampler_entry_bytes(e->n_pcs) &&
            e->n_pcs <= g.max_depth) {
            record_sample(t, e);
        }
        sp_ring_release(ring);
    }
    if (ring != NULL) {
        uint64_t full = sp_ring_dropped_full(ring);
        uint64_t other = sp_ring_dropped_other(ring);
        write_drops(SPT_DROP_RING_FULL, full - t->w_full);
        write_drops(SPT_DROP_UNWIND_FAILED, other - t->w_other);
        t->w_full = full;
        t->w_other = other;
    }
    uint64_t busy = atomic_load(&t->s.dropped_busy);
    uint64_t forking = atomic_load(&t->s.dropped_fork);
    uint64_t noring = atomic_load(&t->s.dropped_noring);
    write_drops(SPT_DROP_BUSY, busy - t->w_busy);
    write_drops(SPT_DROP_FORK, forking - t->w_fork);
    write_drops(SPT_DROP_RING_FULL, noring - t->w_noring); /* no buffer left for it: full */
    t->w_busy = busy;
    t->w_fork = forking;
    t->w_noring = noring;
    /* A thread registered through pthread_create ends through its TLS destructor; polling its
     * tid (one system call) only catches a raw exit, so once a second is enough for those.
     * Adopted threads have no destructor: every pass. */
    if (t->adopted || g.pass % 10 == 0) {
        sp_threads_poll_liveness(t);
    }
    uint64_t end_ns = atomic_load(&t->end_ns);
    if (end_ns != 0 && !t->w_end_written && !g.failed) {
        if (!g.capped) {
            define_thread(t); /* a rename just before the end (this pass's first look missed it) */
        }
        if (!g.capped && t->w_id != 0 &&
            spt_writer_thread_end(g.w, t->w_id, trace_time(end_ns)) != SPT_OK) {
            fail(NULL);
        }
        t->w_end_written = 1;
        if (t->s.os_tid == (int)getpid()) {
            g.main_exited = 1; /* pthread_exit in main: see writer_main */
        }
        if (t->s.stack_hi == 0) {
            atomic_store(&t->s.sp_seen, 0);
        }
    }
}

/* Frame-pointer unwinding of adopted threads: their stack top was unknown, so their handler
 * reported a stack pointer; the mapping that holds it (from /proc/self/maps) bounds the stack. */
void sp_writer_resolve_stack_tops(size_t n_threads) {
    for (size_t i = 0; i < n_threads; i++) {
        sp_thread *t = g.snap[i];
        uint64_t sp = atomic_load(&t->s.sp_seen);
        uint64_t top = 0;
        if (t->s.stack_hi == 0 && sp != 0 && sp_mapping_end(sp, &top) == 0) {
            t->s.stack_hi = top;
        }
    }
}

