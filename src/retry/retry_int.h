/* Inside a retry policy (retry.c, run.c). */
#ifndef MSB_RETRY_INT_H
#define MSB_RETRY_INT_H

#include "core/common.h"
#include "msb/retry.h"

struct msb_retry {
    const msb_clock_t *clock;
    uint32_t max_attempts;
    uint64_t initial_ns;
    uint64_t max_backoff_ns;
    double multiplier;
    msb_retry_jitter_t jitter;
    uint64_t max_elapsed_ns;
    uint64_t max_retry_after_ns;
    msb_retry_budget_t *budget;
    bool own_budget;
    msb_retry_predicate retryable;
    void *user;
    msb_retry_sleep_fn sleep;
    void *sleep_user;
};

/* The backoff before retry number `n` (0 for the first retry), jitter applied. */
MSB_INTERNAL uint64_t msb__retry_backoff(const msb_retry_t *r, uint32_t n, uint64_t prev_ns);

#endif
