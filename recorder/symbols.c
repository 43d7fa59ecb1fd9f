/* symbols.c: symbolization of this process's own addresses, in the writer thread only.
 * Mappings and build-ids come from dl_iterate_phdr, names and lines from libdwfl. Never call it
 * from a signal handler: libdwfl allocates, opens files and takes the loader lock. */
#define _GNU_SOURCE
#include "recorder/symbols.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <limits.h>
#include <link.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/debug_cache.h"
#include "recorder/line_cache.h"
#include "recorder/symtab_index.h"

typedef struct {
    uint64_t start; /* first address of an executable segment */
    uint64_t end;   /* one past its last address */
    uint32_t id;    /* mapping id in the writer */
} mapping_entry;

typedef struct {
    uint64_t key;   /* pc << 1 | is_caller; 0 = empty slot (pc is never 0) */
    uint32_t first; /* index in sp_symbols.pool of the address's frame ids, outermost first */
    uint32_t count; /* how many: 1 + calls inlined at that address */
} cache_slot;

/* Inlined calls expanded per address. Deeper chains (rare) keep the innermost ones. */
#define MAX_INLINE_FRAMES 32

struct sp_symbols {
    spt_writer *w;
    Dwfl *dwfl;          /* NULL when libdwfl could not start: frames get no names */
    mapping_entry *maps; /* executable segments of the loaded objects, from the last scan */
    size_t n_maps;
    size_t cap_maps;
    unsigned long long adds; /* dl_iterate_phdr's load/unload counters at the last scan */
    unsigned long long subs;
    cache_slot *cache; /* open addressing, power-of-two capacity, at most half full */
    size_t cache_cap;
    size_t cache_used;
    uint32_t *pool; /* the cached frame ids, cache_slot.first indexes it */
    size_t pool_used;
    size_t pool_cap;
    int failed;       /* the writer or an allocation failed; every call returns 0 */
    int system_lines; /* DWARF for system libraries too (sp_symbols_create) */
    char exe_path[PATH_MAX];
};

/* Only local lookups by build-id (/usr/lib/debug/.build-id/...). dwfl_standard_find_debuginfo
 * would fall back to debuginfod when DEBUGINFOD_URLS is set (Debian sets it system-wide), and a
 * profiler must never make the profiled program wait on the network. A debug file with
 * compressed sections is read from its uncompressed copy in the cache (debug_cache.h). */
static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = sp_debug_cache_find_debuginfo,
};

/* ---- mappings ------------------------------------------------------------------------------ */

static size_t align_up(size_t n, size_t align) {
    return (n + align - 1) & ~(align - 1);
}

/* Reads the GNU build-id note from the object's loaded PT_NOTE segments (they are in memory, so
 * no file is opened). Returns its length in bytes, 0 when there is none. */
static size_t find_build_id(const struct dl_phdr_info *info, uint8_t out[64]) {
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) {
            continue;
        }
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        size_t left = ph->p_memsz;
        size_t align = ph->p_align == 8 ? 8 : 4; /* notes are 4-aligned, .note.gnu.property 8 */
        while (left >= sizeof(ElfW(Nhdr))) {
            ElfW(Nhdr) nh;
            memcpy(&nh, p, sizeof nh);
            size_t desc_off = sizeof nh + align_up(nh.n_namesz, align);
            size_t next = desc_off + align_up(nh.n_descsz, align);
            if (next > left || next < desc_off) {
                break;
            }
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp(p + sizeof nh, "GNU", 4) == 0) {
                size_t n = nh.n_descsz < 64 ? nh.n_descsz : 64;
                memcpy(out, p + desc_off, n);
                return n;
            }
            p += next;
            left -= next;
        }
    }
    return 0;
}

/* One executable segment of a loaded object, as collected under the loader's lock. */
typedef struct {
    uint64_t start;
    uint64_t end;
    uint64_t file_offset;
    uint32_t object; /* index in the collection's objects */
} raw_segment;

/* One loaded object: its path (copied) and build-id. */
typedef struct {
    size_t path_offset; /* into the collection's path bytes */
    uint8_t build_id_len;
    uint8_t build_id[64];
} raw_object;

/* What dl_iterate_phdr reports, copied into buffers allocated beforehand. Nothing may allocate
 * inside a dl_iterate_phdr callback: it runs under the loader's lock, and a sampling signal can
 * interrupt another thread inside malloc and then wait for that lock in libunwind (also
 * dl_iterate_phdr): a malloc here would then wait for that thread forever. */
typedef struct {
    raw_object *objects;
    size_t n_objects, cap_objects;
    raw_segment *segments;
    size_t n_segments, cap_segments;
    char *paths;
    size_t paths_used, paths_cap;
    const char *exe_path;
    int overflow; /* an object was loaded between counting and collecting */
} collection;

static const char *object_path(const struct dl_phdr_info *info, const char *exe_path) {
    /* The main program is listed with an empty name; the vDSO by its soname. */
    return (info->dlpi_name != NULL && info->dlpi_name[0] != '\0') ? info->dlpi_name : exe_path;
}

static int is_exec_segment(const ElfW(Phdr) * ph) {
    /* Samples only land in executable code, so only those segments become mappings. */
    return ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > 0;
}

static int count_objects(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    collection *c = data;
    c->cap_objects++;
    c->paths_cap += strlen(object_path(info, c->exe_path)) + 1;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        c->cap_segments += is_exec_segment(&info->dlpi_phdr[i]);
    }
    return 0;
}

static int collect_objects(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    collection *c = data;
    const char *path = object_path(info, c->exe_path);
    size_t len = strlen(path) + 1;
    if (c->n_objects == c->cap_objects || c->paths_used + len > c->paths_cap) {
        c->overflow = 1;
        return 1;
    }
    raw_object *o = &c->objects[c->n_objects];
    o->path_offset = c->paths_used;
    memcpy(c->paths + c->paths_used, path, len);
    c->paths_used += len;
    o->build_id_len = (uint8_t)find_build_id(info, o->build_id);
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (!is_exec_segment(ph)) {
            continue;
        }
        if (c->n_segments == c->cap_segments) {
            c->overflow = 1;
            return 1;
        }
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        c->segments[c->n_segments++] =
            (raw_segment){start, start + ph->p_memsz, ph->p_offset, (uint32_t)c->n_objects};
    }
    c->n_objects++;
    return 0;
}

/* Interns the collected objects' mappings into the writer and s->maps (outside the lock). */
static void add_mappings(sp_symbols *s, const collection *c) {
    for (size_t i = 0; i < c->n_segments && !s->failed; i++) {
        const raw_segment *seg = &c->segments[i];
        const raw_object *o = &c->objects[seg->object];
        const char *path = c->paths + o->path_offset;
        spt_mapping m;
        memset(&m, 0, sizeof m);
        m.path = spt_writer_cstring(s->w, path);
        if (m.path == 0 && path[0] != '\0') {
            s->failed = 1;
            return;
        }
        m.build_id_len = o->build_id_len;
        memcpy(m.build_id, o->build_id, o->build_id_len);
        m.start = seg->start;
        m.end = seg->end;
        m.file_offset = seg->file_offset; /* the file offset mapped at m.start */
        uint32_t id = spt_writer_mapping(s->w, &m);
        if (id == 0) {
            s->failed = 1;
            return;
        }
        if (s->n_maps == s->cap_maps) {
            size_t cap = s->cap_maps ? s->cap_maps * 2 : 32;
            mapping_entry *grown = realloc(s->maps, cap * sizeof *grown);
            if (grown == NULL) {
                s->failed = 1;
                return;
            }
            s->maps = grown;
            s->cap_maps = cap;
        }
        s->maps[s->n_maps++] = (mapping_entry){m.start, m.end, id};
    }
}

/* Counts, allocates (with room for a few objects loaded meanwhile), collects, then interns. */
static void scan_objects(sp_symbols *s) {
    collection c;
    memset(&c, 0, sizeof c);
    c.exe_path = s->exe_path;
    dl_iterate_phdr(count_objects, &c);
    c.cap_objects += 16;
    c.cap_segments += 64;
    c.paths_cap += 16 * PATH_MAX;
    c.objects = malloc(c.cap_objects * sizeof *c.objects);
    c.segments = malloc(c.cap_segments * sizeof *c.segments);
    c.paths = malloc(c.paths_cap);
    if (c.objects == NULL || c.segments == NULL || c.paths == NULL) {
        s->failed = 1;
    } else {
        dl_iterate_phdr(collect_objects, &c);
        add_mappings(s, &c);
        if (c.overflow) {
            s->adds = ~0ull; /* incomplete: the next lookup scans again */
        }
    }
    free(c.objects);
    free(c.segments);
    free(c.paths);
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *data) {
    unsigned long long *counters = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        counters[0] = info->dlpi_adds;
        counters[1] = info->dlpi_subs;
    }
    return 1; /* the counters are the same in every entry: one is enough */
}

static void clear_cache(sp_symbols *s) {
    memset(s->cache, 0, s->cache_cap * sizeof *s->cache);
    s->cache_used = 0;
}

/* What the symbolizer keeps per module, in the module's user data slot: built on first use. */
typedef struct {
    sp_symtab_index *index; /* symtab_index.h says why not dwfl_module_addrinfo; NULL if none */
    sp_line_cache *lines;   /* system modules' lines (line_cache.h); NULL if none */
    int lines_opened;       /* lines was tried */
} module_data;

/* mod's data, created on first use; NULL when memory runs out. */
static module_data *data_of(Dwfl_Module *mod) {
    void **slot = NULL;
    dwfl_module_info(mod, &slot, NULL, NULL, NULL, NULL, NULL, NULL);
    if (slot == NULL) {
        return NULL;
    }
    if (*slot == NULL) {
        module_data *d = calloc(1, sizeof *d);
        if (d == NULL) {
            return NULL;
        }
        d->index = sp_symtab_index_build(mod);
        *slot = d;
    }
    return *slot;
}

/* Frees a module's data, writing its line cache (dwfl_getmodules' callback at the end, and
 * through free_removed_index dwfl_report_end's for a module dropped at a rescan). */
static int free_module_data(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                            void *arg) {
    (void)mod, (void)name, (void)base, (void)arg;
    module_data *d = *userdata;
    if (d != NULL) {
        sp_symtab_index_free(d->index);
        sp_line_cache_close(d->lines);
        free(d);
    }
    *userdata = NULL;
    return DWARF_CB_OK;
}

static int free_removed_index(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                              void *arg) {
    /* libdwfl passes the address of the module's user data slot here (MODCB_ARGS), as it does
     * to dwfl_getmodules' callbacks, although this prototype says void *. */
    return free_module_data(mod, (void **)userdata, name, base, arg);
}

/* Rescans the loaded objects when dlopen or dlclose changed them since the last scan (or always,
 * with force). libdwfl's module list is refreshed with them. */
static void rescan(sp_symbols *s, int force) {
    unsigned long long counters[2] = {0, 0};
    dl_iterate_phdr(read_counters, counters);
    if (!force && counters[0] == s->adds && counters[1] == s->subs) {
        return;
    }
    if (counters[1] != s->subs) {
        clear_cache(s); /* an unloaded object's addresses may now belong to another one */
    }
    s->adds = counters[0];
    s->subs = counters[1];
    s->n_maps = 0;
    scan_objects(s);
    if (s->dwfl != NULL) {
        dwfl_report_begin(s->dwfl);
        if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0 ||
            dwfl_report_end(s->dwfl, free_removed_index, NULL) != 0) {
            dwfl_getmodules(s->dwfl, free_module_data, NULL, 0);
            dwfl_end(s->dwfl); /* names are lost, addresses and mappings are not */
            s->dwfl = NULL;
        }
    }
}

static const mapping_entry *find_mapping(const sp_symbols *s, uint64_t pc) {
    for (size_t i = 0; i < s->n_maps; i++) {
        if (pc >= s->maps[i].start && pc < s->maps[i].end) {
            return &s->maps[i];
        }
    }
    return NULL;
}

/* ---- frame cache --------------------------------------------------------------------------- */

static size_t slot_of(uint64_t key, size_t cap) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1); /* Fibonacci hashing */
}

static const cache_slot *cache_get(const sp_symbols *s, uint64_t key) {
    for (size_t i = slot_of(key, s->cache_cap);; i = (i + 1) & (s->cache_cap - 1)) {
        if (s->cache[i].key == key) {
            return &s->cache[i];
        }
        if (s->cache[i].key == 0) {
            return NULL;
        }
    }
}

/* Remembers the count frame ids at ids for key. Returns 0, or -1 when memory ran out. */
static int cache_put(sp_symbols *s, uint64_t key, const uint32_t *ids, size_t count) {
    if (s->pool_used + count > s->pool_cap) {
        size_t cap = s->pool_cap ? s->pool_cap * 2 : 4096;
        while (cap < s->pool_used + count) {
            cap *= 2;
        }
        uint32_t *grown = realloc(s->pool, cap * sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        s->pool = grown;
        s->pool_cap = cap;
    }
    if ((s->cache_used + 1) * 2 > s->cache_cap) {
        size_t cap = s->cache_cap * 2;
        cache_slot *grown = calloc(cap, sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        for (size_t i = 0; i < s->cache_cap; i++) {
            if (s->cache[i].key != 0) {
                size_t j = slot_of(s->cache[i].key, cap);
                while (grown[j].key != 0) {
                    j = (j + 1) & (cap - 1);
                }
                grown[j] = s->cache[i];
            }
        }
        free(s->cache);
        s->cache = grown;
        s->cache_cap = cap;
    }
    size_t i = slot_of(key, s->cache_cap);
    while (s->cache[i].key != 0) {
        i = (i + 1) & (s->cache_cap - 1);
    }
    memcpy(s->pool + s->pool_used, ids, count * sizeof *ids);
    s->cache[i] = (cache_slot){key, (uint32_t)s->pool_used, (uint32_t)count};
    s->pool_used += count;
    s->cache_used++;
    return 0;
}

/* ---- symbolization ------------------------------------------------------------------------- */

/* Is mod a system library or program, installed by the distribution? Its debug information,
 * when present, is a separate compressed file that libdw would inflate whole (symbols.h). */
static int is_system_module(Dwfl_Module *mod) {
    static const char *const dirs[] = {"/lib/",       "/lib32/",     "/lib64/",       "/usr/lib/",
                                       "/usr/lib32/", "/usr/lib64/", "/usr/libexec/", "/bin/",
                                       "/sbin/",      "/usr/bin/",   "/usr/sbin/"};
    const char *path = NULL;
    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &path, NULL);
    if (path == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Symbolizes addr into locs, innermost first: the deepest inlined call, the calls it was inlined
 * into, and last the real function that holds the code. Returns how many (at least 1). The
 * symbol table names the real function; DWARF names inlined calls and gives files and lines. */
static size_t symbolize(sp_symbols *s, uint64_t addr, sp_source_location *locs, size_t max) {
    locs[0] = (sp_source_location){NULL, NULL, 0};
    Dwfl_Module *mod = s->dwfl != NULL ? dwfl_addrmodule(s->dwfl, addr) : NULL;
    if (mod == NULL) {
        return 1;
    }
    module_data *data = data_of(mod);
    uint64_t start = 0, end = 0;
    const char *symbol =
        data != NULL ? sp_symtab_index_find(data->index, addr, &start, &end) : NULL;
    int system = is_system_module(mod);
    if (system && !s->system_lines) {
        locs[0].function = symbol;
        return 1;
    }
    /* Lines come from the cache when an earlier process read that function; then this process
     * never reads the module's DWARF (line_cache.h). */
    if (symbol != NULL) {
        if (!data->lines_opened) {
            data->lines = sp_line_cache_open(mod);
            data->lines_opened = 1;
        }
        size_t n = sp_line_cache_lookup(data->lines, start, addr, locs, max);
        if (n == 0 && sp_line_cache_add(data->lines, mod, start, end) == 0) {
            n = sp_line_cache_lookup(data->lines, start, addr, locs, max);
        }
        if (n > 0) {
            locs[n - 1].function = symbol;
            return n;
        }
    }
    size_t n = sp_dwarf_locations(mod, addr, locs, max);
    if (symbol != NULL) {
        locs[n - 1].function = symbol;
    }
    return n;
}

/* Interns a string, 0 for NULL. A symbol version ("__libc_start_main@@GLIBC_2.34") is not part
 * of the function's name and is cut; '@' appears in no C or C++ linkage name. Sets s->failed
 * when the writer fails. */
static uint32_t intern_name(sp_symbols *s, const char *str, int is_symbol) {
    if (str == NULL || str[0] == '\0') {
        return 0;
    }
    size_t len = is_symbol ? strcspn(str, "@") : strlen(str);
    uint32_t id = spt_writer_string(s->w, str, len);
    if (id == 0 && len > 0) {
        s->failed = 1;
    }
    return id;
}

/* ---- public -------------------------------------------------------------------------------- */

sp_symbols *sp_symbols_create(spt_writer *w, int system_lines) {
    sp_symbols *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->w = w;
    s->system_lines = system_lines;
    s->cache_cap = 256; /* grows as it fills: a short process names a few hundred addresses */
    s->cache = calloc(s->cache_cap, sizeof *s->cache);
    if (s->cache == NULL) {
        free(s);
        return NULL;
    }
    ssize_t n = readlink("/proc/self/exe", s->exe_path, sizeof s->exe_path - 1);
    s->exe_path[n > 0 ? n : 0] = '\0';
    s->dwfl = dwfl_begin(&dwfl_callbacks);
    rescan(s, 1);
    return s;
}

size_t sp_symbols_frames(sp_symbols *s, uint64_t pc, int is_caller, const uint32_t **ids) {
    if (s->failed) {
        return 0;
    }
    uint64_t key = pc << 1 | (is_caller ? 1u : 0u);
    const cache_slot *hit = cache_get(s, key);
    if (hit != NULL) {
        *ids = s->pool + hit->first;
        return hit->count;
    }
    const mapping_entry *m = find_mapping(s, pc);
    if (m == NULL) {
        rescan(s, 0); /* maybe dlopen'ed since the last scan */
        m = find_mapping(s, pc);
    }
    /* A return address points after the call; the call itself (pc - 1) has the caller's line,
     * and for a call to a noreturn function at the very end of a function, the right function. */
    sp_source_location locs[MAX_INLINE_FRAMES];
    size_t n = symbolize(s, is_caller ? pc - 1 : pc, locs, MAX_INLINE_FRAMES);
    uint32_t out[MAX_INLINE_FRAMES];
    for (size_t i = 0; i < n; i++) {
        const sp_source_location *loc = &locs[n - 1 - i]; /* outermost first */
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_NATIVE;
        f.address = pc;
        f.mapping = m != NULL ? m->id : 0;
        /* Every frame but the real function is a call inlined into the one before it. */
        f.flags = i > 0 ? SPT_FRAME_INLINED : 0;
        /* No symbol: function stays 0 and tools print the mapping and offset instead. */
        f.function = intern_name(s, loc->function, i == 0);
        f.file = intern_name(s, loc->file, 0);
        f.line = loc->file != NULL && loc->line > 0 ? (uint32_t)loc->line : 0;
        out[i] = s->failed ? 0 : spt_writer_frame(s->w, &f);
        if (out[i] == 0) {
            s->failed = 1;
            return 0;
        }
    }
    if (cache_put(s, key, out, n) != 0) {
        s->failed = 1;
        return 0;
    }
    *ids = s->pool + s->pool_used - n; /* cache_put appended them last */
    return n;
}

int sp_symbols_function_range(sp_symbols *s, uint64_t addr, uint64_t *lo, uint64_t *hi) {
    Dwfl_Module *mod = s->dwfl != NULL ? dwfl_addrmodule(s->dwfl, addr) : NULL;
    module_data *data = mod != NULL ? data_of(mod) : NULL;
    return data != NULL && sp_symtab_index_find(data->index, addr, lo, hi) != NULL ? 0 : -1;
}

uint32_t sp_symbols_synthetic(sp_symbols *s, const char *name) {
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.flags = SPT_FRAME_SYNTHETIC;
    f.function = spt_writer_cstring(s->w, name);
    return f.function != 0 ? spt_writer_frame(s->w, &f) : 0;
}

void sp_symbols_destroy(sp_symbols *s) {
    if (s == NULL) {
        return;
    }
    if (s->dwfl != NULL) {
        dwfl_getmodules(s->dwfl, free_module_data, NULL, 0);
        dwfl_end(s->dwfl);
    }
    free(s->maps);
    free(s->cache);
    free(s->pool);
    free(s);
}
