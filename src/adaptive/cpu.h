/*
 * CPU use of this process' cgroup (or host), sampled on demand for the load shedder.
 *
 * Sources, in order of preference (found once, when the shedder is created):
 *   cgroup v2  <root>/<path>/cpu.stat "usage_usec", limit min over the ancestors' cpu.max
 *   cgroup v1  <root>/cpuacct[,cpu]/<path>/cpuacct.usage, limit cpu.cfs_quota_us/period_us
 *   /proc/stat the host's busy share of all its CPUs
 * where <path> comes from /proc/self/cgroup (or is "/" inside a cgroup namespace). A cgroup
 * without a limit is measured against the CPUs this process may run on.
 * Use = Δusage / (Δwall × limit cores), smoothed with an exponential average (β = 0.95) per
 * sample; the first sample is taken as it is.
 */
#ifndef MSB_ADAPTIVE_CPU_H
#define MSB_ADAPTIVE_CPU_H

#include <stdatomic.h>

#include "core/common.h"
#include "msb/adaptive.h"

typedef struct msb__cpu {
    msb_adaptive_cpu_source_t source;
    msb_adaptive_cpu_fn fn;
    void *fn_user;
    char *usage_path;
    double limit_cores;
    uint64_t interval_ns;
    /* sampler state, under `sampling` */
    uint64_t prev_usage, prev_total, prev_wall;
    bool have_prev, have_ema;
    double ema;
    _Atomic uint32_t permille;
    _Atomic uint64_t next_ns;
    _Atomic int sampling;
} msb__cpu_t;

/* Find the source. MSB_ENOMEM is the only failure (an unreadable system gives
 * MSB_ADAPTIVE_CPU_NONE). */
MSB_INTERNAL msb_status_t msb__cpu_init(msb__cpu_t *c, const char *cgroup_root,
                                        const char *proc_root, msb_adaptive_cpu_fn fn,
                                        void *fn_user, uint64_t interval_ns, uint64_t now);
MSB_INTERNAL void msb__cpu_destroy(msb__cpu_t *c);
/* Take a sample now (if no other thread is), whatever the interval. */
MSB_INTERNAL void msb__cpu_sample(msb__cpu_t *c, uint64_t now);

/* Parsers (cpu_parse.c). The first unsigned decimal at s after blanks; *end past it. */
MSB_INTERNAL bool msb__cpu_parse_u64_at(const char *s, uint64_t *out, const char **end);
/* /proc/self/cgroup contents (modified): the v2 path and the v1 cpuacct path, "" if absent. */
MSB_INTERNAL void msb__cpu_parse_cgroups(char *buf, char *v2, size_t v2size, char *v1,
                                         size_t v1size);
/* cpu.max: "QUOTA PERIOD" as cores; false for "max ..." or garbage. */
MSB_INTERNAL bool msb__cpu_parse_max(const char *buf, double *cores);
/* cpu.stat (usage_usec, as ns), cpuacct.usage (ns) or /proc/stat (busy and total ticks). */
MSB_INTERNAL bool msb__cpu_parse_usage(msb_adaptive_cpu_source_t source, const char *buf,
                                       uint64_t *usage, uint64_t *total);

/* Sample if the last one is older than the interval. */
static inline void msb__cpu_maybe_sample(msb__cpu_t *c, uint64_t now)
{
    if (MSB_UNLIKELY(now >= atomic_load_explicit(&c->next_ns, memory_order_relaxed))) {
        msb__cpu_sample(c, now);
    }
}

/* The smoothed use in permille (the callback's answer, for that source). */
static inline uint32_t msb__cpu_permille(msb__cpu_t *c)
{
    if (c->fn != NULL) {
        uint32_t v = c->fn(c->fn_user);
        return v > 1000 ? 1000 : v;
    }
    return atomic_load_explicit(&c->permille, memory_order_relaxed);
}

#endif
