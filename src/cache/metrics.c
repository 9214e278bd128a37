/*
 * The cache's counters as Prometheus families, through a collector of metrics.h: read at each
 * scrape from msb_cache_stats(), so the hot path pays nothing for them. Family names start with
 * the cache's metrics_prefix (default "msb_cache"): give each cache of a registry its own.
 */
#include <stdio.h>
#include <string.h>

#include "cache/internal.h"
#include "core/error.h"
#include "msb/metrics.h"

typedef struct family {
    const char *suffix;
    const char *help;
    size_t offset; /* of the counter in msb_cache_stats_t */
    bool gauge;
} family_t;

#define F(name, help, gauge)                                                                       \
    {                                                                                              \
#name, help, offsetof(msb_cache_stats_t, name), gauge                                      \
    }

static const family_t families[] = {
    F(misses, "Lookups that found nothing usable.", false),
    F(stale_hits, "Lookups answered with a stale value (stale-while-revalidate).", false),
    F(negative_hits, "Lookups answered by a cached \"not found\".", false),
    F(sets, "Values stored.", false),
    F(deletes, "Deletes (invalidations sent).", false),
    F(evictions, "In-process entries dropped to respect the bounds.", false),
    F(expirations, "In-process entries dropped because their time was up.", false),
    F(loads, "Loader calls.", false),
    F(load_errors, "Loader calls that failed.", false),
    F(coalesced, "Callers that waited for another caller's load (single-flight).", false),
    F(invalidations, "Invalidations received from other instances.", false),
    F(backend_errors, "Redis commands that failed.", false),
    F(subscriber_connects, "Connections of the invalidation subscriber.", false),
    F(entries, "In-process entries.", true),
    F(bytes, "In-process bytes (keys, values and entry overhead).", true),
};

static msb_status_t collect(msb_metrics_writer_t *w, void *user)
{
    msb_cache_t *c = user;
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    char name[160];
    snprintf(name, sizeof(name), "%s_hits", c->metrics_prefix);
    const char *tier[] = {"tier"};
    msb_status_t rc =
        msb_metrics_write_family(w, MSB_METRIC_COUNTER, name,
                                 "Lookups answered with a fresh value, by tier.", NULL, tier, 1);
    const char *l1[] = {"l1"};
    const char *l2[] = {"l2"};
    if (rc == MSB_OK) {
        rc = msb_metrics_write_sample(w, l1, (double)s.l1_hits);
    }
    if (rc == MSB_OK) {
        rc = msb_metrics_write_sample(w, l2, (double)s.l2_hits);
    }
    for (size_t i = 0; rc == MSB_OK && i < MSB_ARRAY_LEN(families); i++) {
        const family_t *f = &families[i];
        snprintf(name, sizeof(name), "%s_%s", c->metrics_prefix, f->suffix);
        rc = msb_metrics_write_family(w, f->gauge ? MSB_METRIC_GAUGE : MSB_METRIC_COUNTER, name,
                                      f->help, NULL, NULL, 0);
        uint64_t v;
        memcpy(&v, (const char *)&s + f->offset, sizeof(v));
        if (rc == MSB_OK) {
            rc = msb_metrics_write_sample(w, NULL, (double)v);
        }
    }
    return rc;
}

msb_status_t msb__cache_metrics_start(msb_cache_t *c, msb_metrics_t *reg, const char *prefix,
                                      msb_error_t *err)
{
    size_t n = strlen(prefix);
    if (n == 0 || n >= sizeof(c->metrics_prefix)) {
        return msb__err(err, MSB_EINVAL, "cache: metrics_prefix must be 1 to %zu bytes",
                        sizeof(c->metrics_prefix) - 1);
    }
    memcpy(c->metrics_prefix, prefix, n + 1);
    c->metrics = reg;
    msb_status_t rc = msb_metrics_collector_add(reg, prefix, collect, c, &c->collector, err);
    if (rc != MSB_OK) {
        c->metrics = NULL;
    }
    return rc;
}

void msb__cache_metrics_stop(msb_cache_t *c)
{
    if (c->metrics != NULL) {
        msb_metrics_collector_remove(c->metrics, c->collector);
        c->metrics = NULL;
    }
}
