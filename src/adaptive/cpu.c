/* CPU use from cgroup v2, cgroup v1 or /proc/stat (see cpu.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adaptive/cpu.h"
#include "core/alloc.h"
#include "core/str.h"

#define PATH_MAX_LEN 512
#define EMA_BETA     0.95

/* Read up to size-1 bytes of a file, NUL-terminated. Length, or -1 if it cannot be read. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static bool join(char *dst, const char *a, const char *b, const char *c)
{
    int n = snprintf(dst, PATH_MAX_LEN, "%s%s%s", a, b, c);
    return n > 0 && n < PATH_MAX_LEN;
}

static bool exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* CPUs this process may run on. */
static double host_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
        return (double)CPU_COUNT(&set);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (double)n : 1.0;
}

/* From /proc/self/cgroup: the v2 path ("0::<path>") and the v1 cpuacct path. */
static void cgroup_paths(const char *proc_root, char *v2, char *v1)
{
    char file[PATH_MAX_LEN], buf[4096];
    v2[0] = '\0';
    v1[0] = '\0';
    if (join(file, proc_root, "/self/cgroup", "") && read_file(file, buf, sizeof(buf)) >= 0) {
        msb__cpu_parse_cgroups(buf, v2, PATH_MAX_LEN, v1, PATH_MAX_LEN);
    }
}

/* cgroup v2: the smallest cpu.max quota from dir up to root (cores), or 0 for none. */
static double v2_limit(const char *root, const char *dir)
{
    char path[PATH_MAX_LEN], cur[PATH_MAX_LEN], buf[128];
    double best = 0;
    msb__strlcpy(cur, dir, sizeof(cur));
    size_t root_len = strlen(root);
    for (;;) {
        double cores;
        if (join(path, cur, "/cpu.max", "") && read_file(path, buf, sizeof(buf)) > 0 &&
            msb__cpu_parse_max(buf, &cores) && (best == 0 || cores < best)) {
            best = cores;
        }
        char *slash = strrchr(cur, '/');
        if (slash == NULL || (size_t)(slash - cur) < root_len) {
            break;
        }
        *slash = '\0';
    }
    return best;
}

static bool find_v2(msb__cpu_t *c, const char *root, const char *cg)
{
    char dir[PATH_MAX_LEN], file[PATH_MAX_LEN];
    const char *candidates[2] = {cg, "/"};
    for (int i = 0; i < 2; i++) {
        const char *p = strcmp(candidates[i], "/") == 0 ? "" : candidates[i];
        if (!join(dir, root, p, "") || !join(file, dir, "/cpu.stat", "") || !exists(file)) {
            continue;
        }
        c->usage_path = msb__strdup(file);
        c->limit_cores = v2_limit(root, dir);
        c->source = MSB_ADAPTIVE_CPU_CGROUP_V2;
        return true;
    }
    return false;
}

static bool find_v1(msb__cpu_t *c, const char *root, const char *cg)
{
    static const char *const mounts[] = {"/cpuacct", "/cpu,cpuacct", "/cpuacct,cpu"};
    char file[PATH_MAX_LEN], dir[PATH_MAX_LEN], buf[64];
    for (int k = 0; k < 2; k++) {
        const char *p = k == 0 && strcmp(cg, "/") != 0 ? cg : "";
        for (size_t m = 0; m < MSB_ARRAY_LEN(mounts); m++) {
            if (!join(dir, root, mounts[m], p) || !join(file, dir, "/cpuacct.usage", "") ||
                !exists(file)) {
                continue;
            }
            c->usage_path = msb__strdup(file);
            c->source = MSB_ADAPTIVE_CPU_CGROUP_V1;
            /* The quota lives in the cpu controller, mounted alone or with cpuacct. */
            uint64_t quota, period;
            char cdir[PATH_MAX_LEN], qf[PATH_MAX_LEN], pf[PATH_MAX_LEN];
            const char *cpu_mount = m == 0 ? "/cpu" : mounts[m];
            if (join(cdir, root, cpu_mount, p) && join(qf, cdir, "/cpu.cfs_quota_us", "") &&
                join(pf, cdir, "/cpu.cfs_period_us", "") && read_file(qf, buf, sizeof(buf)) > 0 &&
                msb__cpu_parse_u64_at(buf, &quota, NULL) && read_file(pf, buf, sizeof(buf)) > 0 &&
                msb__cpu_parse_u64_at(buf, &period, NULL) && period > 0) {
                c->limit_cores = (double)quota / (double)period; /* "-1" does not parse: none */
            }
            return true;
        }
    }
    return false;
}

msb_status_t msb__cpu_init(msb__cpu_t *c, const char *cgroup_root, const char *proc_root,
                           msb_adaptive_cpu_fn fn, void *fn_user, uint64_t interval_ns,
                           uint64_t now)
{
    memset(c, 0, sizeof(*c));
    c->fn = fn;
    c->fn_user = fn_user;
    c->interval_ns = interval_ns;
    atomic_init(&c->permille, 0);
    atomic_init(&c->next_ns, UINT64_MAX);
    atomic_init(&c->sampling, 0);
    c->limit_cores = host_cores();
    if (fn != NULL) {
        c->source = MSB_ADAPTIVE_CPU_CALLBACK;
        return MSB_OK;
    }
    char v2[PATH_MAX_LEN], v1[PATH_MAX_LEN], file[PATH_MAX_LEN];
    cgroup_paths(proc_root, v2, v1);
    bool found = (v2[0] != '\0' && find_v2(c, cgroup_root, v2)) ||
                 (v1[0] != '\0' && find_v1(c, cgroup_root, v1));
    if (!found && join(file, proc_root, "/stat", "") && exists(file)) {
        c->usage_path = msb__strdup(file);
        c->source = MSB_ADAPTIVE_CPU_PROC_STAT;
        found = true;
    }
    if (!found) {
        c->source = MSB_ADAPTIVE_CPU_NONE;
        return MSB_OK;
    }
    if (c->usage_path == NULL) {
        return MSB_ENOMEM;
    }
    if (c->limit_cores <= 0) {
        c->limit_cores = host_cores();
    }
    atomic_store_explicit(&c->next_ns, now, memory_order_relaxed);
    msb__cpu_sample(c, now); /* the baseline */
    return MSB_OK;
}

void msb__cpu_destroy(msb__cpu_t *c)
{
    msb__free(c->usage_path);
    c->usage_path = NULL;
}

/* The counters now: usage (ns) and, for /proc/stat, the total (ticks). */
static bool read_usage(const msb__cpu_t *c, uint64_t *usage, uint64_t *total)
{
    char buf[4096];
    return read_file(c->usage_path, buf, sizeof(buf)) > 0 &&
           msb__cpu_parse_usage(c->source, buf, usage, total);
}

static double usage_permille(msb__cpu_t *c, uint64_t usage, uint64_t total, uint64_t now)
{
    if (c->source == MSB_ADAPTIVE_CPU_PROC_STAT) {
        uint64_t dt = total - c->prev_total;
        return dt == 0 ? -1.0 : 1000.0 * (double)(usage - c->prev_usage) / (double)dt;
    }
    uint64_t wall = now - c->prev_wall;
    if (wall == 0) {
        return -1.0;
    }
    return 1000.0 * (double)(usage - c->prev_usage) / ((double)wall * c->limit_cores);
}

void msb__cpu_sample(msb__cpu_t *c, uint64_t now)
{
    int expected = 0;
    if (c->source == MSB_ADAPTIVE_CPU_CALLBACK || c->source == MSB_ADAPTIVE_CPU_NONE ||
        !atomic_compare_exchange_strong_explicit(&c->sampling, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return;
    }
    atomic_store_explicit(&c->next_ns, now + c->interval_ns, memory_order_relaxed);
    uint64_t usage = 0, total = 0;
    if (read_usage(c, &usage, &total)) {
        if (c->have_prev && usage >= c->prev_usage && total >= c->prev_total) {
            double u = usage_permille(c, usage, total, now);
            if (u >= 0) {
                u = u > 1000.0 ? 1000.0 : u;
                c->ema = c->have_ema ? c->ema * EMA_BETA + u * (1.0 - EMA_BETA) : u;
                c->have_ema = true;
                atomic_store_explicit(&c->permille, (uint32_t)(c->ema + 0.5), memory_order_relaxed);
            }
        }
        c->prev_usage = usage;
        c->prev_total = total;
        c->prev_wall = now;
        c->have_prev = true;
    }
    atomic_store_explicit(&c->sampling, 0, memory_order_release);
}
