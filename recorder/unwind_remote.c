/* unwind_remote.c: libunwind's generic (remote) API turned on our own process, for threads
 * blocked in a system call. The sampler thread calls it with the wall-clock tick lock held,
 * which dlclose also takes, so no library is unmapped while its unwind tables are read. The
 * blocked thread's stack is copied with one process_vm_readv, so a thread that wakes and exits
 * meanwhile can never make us read unmapped memory; other reads outside loaded objects go
 * through process_vm_readv too, which fails cleanly instead of faulting. */
#define _GNU_SOURCE
#include "recorder/unwind_remote.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libunwind.h> /* the generic API: unw_create_addr_space, unw_init_remote */

#define STACK_COPY_BYTES (256u << 10) /* stack bytes copied per unwind; deeper reads go slow */
#define MAX_SEGMENTS     4096u

typedef struct {
    uint64_t lo, hi;
} range;

typedef struct {
    uint64_t sp, pc;           /* the registers we know */
    uint64_t rbp;              /* a guessed frame pointer, valid when has_rbp */
    int has_rbp;
    uint64_t copy_lo, copy_hi; /* [sp, sp + copied) */
} regs_arg;

static unw_addr_space_t as;
static unsigned char *stack_copy;        /* STACK_COPY_BYTES */
static range segments[MAX_SEGMENTS];     /* loaded objects' PT_LOAD segments */
static size_t n_segments;
static unsigned long long seg_adds = ~0ull, seg_subs = ~0ull;

static int add_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    for (size_t i = 0; i < info->dlpi_phnum && n_segments < MAX_SEGMENTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && ph->p_memsz > 0) {
            uint64_t lo = info->dlpi_addr + ph->p_vaddr;
            segments[n_segments++] = (range){lo, lo + ph->p_filesz};
        }
    }
    return 0;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    unsigned long long *c = data;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;
}

/* Refreshes the segment list when objects were loaded or unloaded since the last look. */
static void refresh_segments(void) {
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(read_counters, c);
    if (c[0] == seg_adds && c[1] == seg_subs) {
        return;
    }
    n_segments = 0;
    dl_iterate_phdr(add_segments, NULL);
    seg_adds = c[0];
    seg_subs = c[1];
}

static int in_segments(uint64_t addr) {
    for (size_t i = 0; i < n_segments; i++) {
        if (addr >= segments[i].lo && addr + 8 <= segments[i].hi) {
            return 1;
        }
    }
    return 0;
}

static int find_proc_info(unw_addr_space_t a, unw_word_t ip, unw_proc_info_t *pi, int need,
                          void *arg) {
    /* The local address space's lookup (dl_iterate_phdr over our own objects) is right here: the
     * blocked thread runs the same code we see. */
    unw_accessors_t *local = unw_get_accessors(unw_local_addr_space);
    return local->find_proc_info(a, ip, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t a, unw_proc_info_t *pi, void *arg) {
    unw_accessors_t *local = unw_get_accessors(unw_local_addr_space);
    local->put_unwind_info(a, pi, arg);
}

static int get_dyn_info_list_addr(unw_addr_space_t a, unw_word_t *addr, void *arg) {
    (void)a;
    (void)addr;
    (void)arg;
    return -UNW_ENOINFO; /* no JIT-registered unwind info */
}

static int access_mem(unw_addr_space_t a, unw_word_t addr, unw_word_t *val, int write, void *arg) {
    (void)a;
    regs_arg *r = arg;
    if (write) {
        return -UNW_EREADONLYREG;
    }
    if (addr >= r->copy_lo && addr + sizeof *val <= r->copy_hi) {
        memcpy(val, stack_copy + (addr - r->copy_lo), sizeof *val);
        return 0;
    }
    if (in_segments(addr)) {
        memcpy(val, (const void *)(uintptr_t)addr, sizeof *val); /* mapped for as long as we
                                                                    hold the tick lock */
        return 0;
    }
    struct iovec local = {val, sizeof *val};
    struct iovec remote = {(void *)(uintptr_t)addr, sizeof *val};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof *val) {
        return -UNW_EINVAL;
    }
    return 0;
}

static int access_reg(unw_addr_space_t a, unw_regnum_t reg, unw_word_t *val, int write,
                      void *arg) {
    (void)a;
    regs_arg *r = arg;
    if (write) {
        return -UNW_EREADONLYREG;
    }
    if (reg == UNW_REG_IP) {
        *val = r->pc;
    } else if (reg == UNW_REG_SP) {
        *val = r->sp;
#if defined(__x86_64__)
    } else if (reg == UNW_X86_64_RBP && r->has_rbp) {
        *val = r->rbp;
#endif
    } else {
        return -UNW_EBADREG; /* the kernel did not tell us: frames that need it end the walk */
    }
    return 0;
}

static int access_fpreg(unw_addr_space_t a, unw_regnum_t reg, unw_fpreg_t *val, int write,
                        void *arg) {
    (void)a;
    (void)reg;
    (void)val;
    (void)write;
    (void)arg;
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t a, unw_cursor_t *c, void *arg) {
    (void)a;
    (void)c;
    (void)arg;
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t a, unw_word_t addr, char *buf, size_t len,
                         unw_word_t *offset, void *arg) {
    (void)a;
    (void)addr;
    (void)buf;
    (void)len;
    (void)offset;
    (void)arg;
    return -UNW_ENOINFO; /* the writer symbolizes */
}

int sp_unwind_remote_init(void) {
    if (as != NULL) {
        return 0;
    }
    stack_copy = malloc(STACK_COPY_BYTES);
    static unw_accessors_t accessors = {
        .find_proc_info = find_proc_info,
        .put_unwind_info = put_unwind_info,
        .get_dyn_info_list_addr = get_dyn_info_list_addr,
        .access_mem = access_mem,
        .access_reg = access_reg,
        .access_fpreg = access_fpreg,
        .resume = resume,
        .get_proc_name = get_proc_name,
    };
    as = stack_copy != NULL ? unw_create_addr_space(&accessors, 0) : NULL;
    if (as == NULL) {
        free(stack_copy);
        stack_copy = NULL;
        return -1;
    }
    /* One thread uses this address space: a global cache needs no per-thread copies. */
    unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
    return 0;
}

void sp_unwind_remote_flush(void) {
    if (as != NULL) {
        unw_flush_cache(as, 0, 0);
    }
    seg_adds = seg_subs = ~0ull;
}

#if defined(__x86_64__)
/* Is ret plausibly a return address: inside a loaded object, right after a call instruction
 * (e8 rel32, ff /2 with the usual encodings)? */
static int looks_like_return(uint64_t ret) {
    if (!in_segments(ret - 8) || !in_segments(ret)) {
        return 0;
    }
    const unsigned char *p = (const unsigned char *)(uintptr_t)ret;
    return p[-5] == 0xe8 || (p[-2] == 0xff && (p[-1] & 0x38) == 0x10) ||
           (p[-3] == 0xff && (p[-2] & 0x38) == 0x10) ||
           (p[-6] == 0xff && (p[-5] & 0x38) == 0x10);
}

/* The walk stopped at a frame that needs rbp, which no inner frame saved: the value rbp still
 * has is that frame's own frame pointer, pointing at a {saved rbp, return address} record a
 * little above the frame's stack pointer. Scan for the first word pair that looks like one. */
static int guess_rbp(regs_arg *r, uint64_t frame_sp, uint64_t *rbp) {
    for (uint64_t a = (frame_sp + 7) & ~7ull; a + 16 <= r->copy_hi && a < frame_sp + 4096;
         a += 8) {
        if (a < r->copy_lo) {
            continue;
        }
        uint64_t next, ret;
        memcpy(&next, stack_copy + (a - r->copy_lo), 8);
        memcpy(&ret, stack_copy + (a + 8 - r->copy_lo), 8);
        if ((next == 0 || (next > a && next < r->copy_hi && next % 8 == 0)) &&
            looks_like_return(ret)) {
            *rbp = a;
            return 1;
        }
    }
    return 0;
}
#endif

int sp_unwind_remote(uint64_t sp, uint64_t pc, uint64_t stack_hi, uint64_t *pcs,
                     uint32_t max_frames, int *truncated) {
    *truncated = 0;
    if (as == NULL || max_frames == 0) {
        return -1;
    }
    refresh_segments();
    regs_arg r = {.sp = sp, .pc = pc, .copy_lo = sp, .copy_hi = sp};
    /* A little past the stack's top: the frame that called the thread's code (our trampoline,
     * start_thread) keeps its frame record there. A copy that reaches unmapped memory just
     * ends early. */
    uint64_t want = STACK_COPY_BYTES;
    if (stack_hi > sp && stack_hi - sp + 4096 < want) {
        want = stack_hi - sp + 4096;
    }
    struct iovec local = {stack_copy, (size_t)want};
    struct iovec remote = {(void *)(uintptr_t)sp, (size_t)want};
    ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (got > 0) {
        r.copy_hi = sp + (uint64_t)got; /* a partial copy ends at the first unmapped page */
    }
    unw_cursor_t cursor;
    if (unw_init_remote(&cursor, as, &r) < 0) {
        return -1;
    }
    uint32_t n = 0;
    int guessed = 0;
    for (;;) {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) {
            break;
        }
        if (n == max_frames) {
            *truncated = 1;
            break;
        }
        pcs[n++] = (uint64_t)ip;
        unw_word_t frame_sp = 0;
        unw_get_reg(&cursor, UNW_REG_SP, &frame_sp);
        int rc = unw_step(&cursor);
#if defined(__x86_64__)
        if (rc == -UNW_EBADREG && !guessed && guess_rbp(&r, frame_sp, &r.rbp)) {
            /* Restart from the top with the guessed rbp, skipping the frames we have. */
            guessed = 1;
            r.has_rbp = 1;
            uint32_t have = n;
            if (unw_init_remote(&cursor, as, &r) < 0) {
                break;
            }
            rc = 1;
            for (uint32_t i = 1; i < have && rc > 0; i++) {
                rc = unw_step(&cursor);
            }
            rc = rc > 0 ? unw_step(&cursor) : rc;
        }
#else
        (void)frame_sp;
        (void)guessed;
#endif
        if (rc <= 0) {
            break;
        }
    }
    return n > 0 ? (int)n : -1;
}
