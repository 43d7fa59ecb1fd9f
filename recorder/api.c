/* api.c: the public C API (spprof.h) over recording.c. Exported through libspprof.map; the
 * codes and messages are the API's, the work is recording.c's. */
#define _GNU_SOURCE
#include "recorder/spprof.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recorder/events.h"
#include "recorder/log.h"
#include "recorder/options.h"
#include "recorder/recording.h"
#include "recorder/writer_thread.h"

#define SP_EXPORT __attribute__((visibility("default")))

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t started_ns;            /* CLOCK_MONOTONIC at the last start */
static uint64_t stopped_ns;            /* at the last stop, 0 while recording */
static int ever_started;
static struct spprof_stats last_stats; /* the last recording's, kept after stop */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies the API's options over the defaults. Returns SPPROF_OK or SPPROF_E_INVALID. */
static int convert(const spprof_options *in, sp_options *o, char *err, size_t err_len) {
    sp_options_defaults(o);
    o->root_pid = (int)getpid(); /* fork children become <output>.<pid> */
    if (in == NULL) {
        return SPPROF_OK;
    }
    if (in->output != NULL) {
        if (in->output[0] == '\0' || strlen(in->output) >= sizeof o->output) {
            snprintf(err, err_len, "the output path is empty or too long");
            return SPPROF_E_INVALID;
        }
        snprintf(o->output, sizeof o->output, "%s", in->output);
    }
    if (in->interval_ns != 0) {
        o->interval_ns = in->interval_ns;
    }
    if (in->clock != SPPROF_CLOCK_CPU && in->clock != SPPROF_CLOCK_WALL) {
        snprintf(err, err_len, "clock %d is neither SPPROF_CLOCK_CPU nor SPPROF_CLOCK_WALL",
                 in->clock);
        return SPPROF_E_INVALID;
    }
    o->clock_wall = in->clock == SPPROF_CLOCK_WALL;
    if (in->max_depth != 0) {
        o->max_depth = in->max_depth;
    }
    if (in->memory_limit_mb != 0) {
        o->memory_limit_bytes = (uint64_t)in->memory_limit_mb << 20;
    }
    o->max_size_bytes = (uint64_t)in->max_size_mb << 20;
    if (in->unwind != SPPROF_UNWIND_LIBUNWIND && in->unwind != SPPROF_UNWIND_FP) {
        snprintf(err, err_len, "unwind %d is neither SPPROF_UNWIND_LIBUNWIND nor SPPROF_UNWIND_FP",
                 in->unwind);
        return SPPROF_E_INVALID;
    }
    o->unwind = in->unwind == SPPROF_UNWIND_FP ? SP_UNWIND_FP : SP_UNWIND_LIBUNWIND;
    if (in->signal != 0) {
        o->signo = in->signal;
    }
    o->follow = in->follow_fork != 0;
    o->quiet = in->quiet != 0;
    snprintf(o->alloc_spec, sizeof o->alloc_spec, "off"); /* no malloc hooks when linked */
    return sp_options_check(o, err, err_len) == 0 ? SPPROF_OK : SPPROF_E_INVALID;
}

SP_EXPORT int spprof_start(const spprof_options *options) {
    pthread_mutex_lock(&api_lock);
    if (sp_recording_started()) {
        pthread_mutex_unlock(&api_lock);
        return SPPROF_E_ACTIVE;
    }
    sp_log_init();
    sp_options o;
    char err[512];
    int rc = convert(options, &o, err, sizeof err);
    if (rc != SPPROF_OK) {
        sp_log("spprof: spprof_start: %s", err);
        pthread_mutex_unlock(&api_lock);
        return rc;
    }
    sp_lineage lin;
    memset(&lin, 0, sizeof lin);
    lin.pid = (int)getpid();
    snprintf(lin.path, sizeof lin.path, "%s", o.output);
    if (sp_recording_start(&o, &lin, SP_START_API, 1, err, sizeof err) != 0) {
        sp_log("spprof: spprof_start: %s", err);
        pthread_mutex_unlock(&api_lock);
        return SPPROF_E_SYSTEM;
    }
    ever_started = 1;
    started_ns = mono_ns();
    stopped_ns = 0;
    memset(&last_stats, 0, sizeof last_stats);
    pthread_mutex_unlock(&api_lock);
    return SPPROF_OK;
}

SP_EXPORT int spprof_stop(void) {
    pthread_mutex_lock(&api_lock);
    if (!sp_recording_started()) {
        pthread_mutex_unlock(&api_lock);
        return SPPROF_E_IDLE;
    }
    sp_writer_summary s;
    if (sp_recording_finish(SPT_END_STOPPED, 0, &s) != 0) {
        pthread_mutex_unlock(&api_lock);
        return SPPROF_E_IDLE;
    }
    stopped_ns = mono_ns();
    last_stats.active = 0;
    last_stats.samples = s.samples;
    last_stats.dropped_samples = s.dropped_samples;
    last_stats.threads = s.threads;
    last_stats.file_bytes = s.file_bytes;
    last_stats.duration_ns = stopped_ns - started_ns;
    pthread_mutex_unlock(&api_lock);
    return SPPROF_OK;
}

SP_EXPORT int spprof_is_active(void) {
    return sp_recording_active();
}

SP_EXPORT int spprof_stats(struct spprof_stats *stats) {
    if (stats == NULL) {
        return SPPROF_E_INVALID;
    }
    pthread_mutex_lock(&api_lock);
    if (sp_recording_started()) {
        sp_writer_stats w;
        sp_writer_thread_stats(&w);
        stats->active = sp_recording_active();
        stats->samples = w.samples;
        stats->dropped_samples = w.dropped_samples;
        stats->threads = w.threads;
        stats->file_bytes = w.file_bytes;
        stats->duration_ns = started_ns != 0 ? mono_ns() - started_ns : 0;
        pthread_mutex_unlock(&api_lock);
        return SPPROF_OK;
    }
    int rc = ever_started ? SPPROF_OK : SPPROF_E_IDLE;
    *stats = last_stats;
    pthread_mutex_unlock(&api_lock);
    return rc;
}

SP_EXPORT int spprof_marker(const char *text) {
    if (text == NULL) {
        return SPPROF_E_INVALID;
    }
    if (!sp_recording_active()) {
        return SPPROF_E_IDLE;
    }
    return sp_events_marker(text) == 0 ? SPPROF_OK : SPPROF_E_IDLE;
}

SP_EXPORT const char *spprof_strerror(int code) {
    switch (code) {
    case SPPROF_OK:
        return "ok";
    case SPPROF_E_ACTIVE:
        return "already recording";
    case SPPROF_E_IDLE:
        return "not recording";
    case SPPROF_E_INVALID:
        return "invalid argument";
    case SPPROF_E_SYSTEM:
        return "the recorder could not start (see stderr)";
    default:
        return "unknown spprof result code";
    }
}
