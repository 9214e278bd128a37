/* Scrapes: what the collectors wrote, and the walk over all families. */
#ifndef MSB_METRICS_SCRAPE_INTERNAL_H
#define MSB_METRICS_SCRAPE_INTERNAL_H

#include "metrics/internal.h"

typedef struct msb__wsample {
    char **values;
    size_t *lens;
    double value;
    uint64_t *buckets; /* histogram: per-bucket counts, nbounds + 1 */
    double sum;
} msb__wsample_t;

typedef struct msb__wfamily {
    msb__famdesc_t desc;
    msb__wsample_t *samples;
    size_t n;
    size_t cap;
} msb__wfamily_t;

struct msb_metrics_writer {
    msb_metrics_t *reg;
    msb__wfamily_t *fams;
    size_t n;
    size_t cap;
    msb__wfamily_t *cur;
};

MSB_INTERNAL void msb__wfamily_free(msb__wfamily_t *f);
/* Drop the families written from index n on (a collector failed). */
MSB_INTERNAL void msb__writer_truncate(msb_metrics_writer_t *w, size_t n);

#endif
