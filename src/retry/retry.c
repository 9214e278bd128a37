/* Retry policy: options, backoff with jitter, and the decision after each attempt. */
#include <math.h>

#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"
#include "retry/retry_int.h"

static msb_status_t validate(const msb_retry_opts_t *o, msb_error_t *err)
{
    if (o->max_attempts < 1 || o->max_attempts > 1000) {
        return msb__err(err, MSB_EINVAL, "retry: max_attempts %u not in 1..1000", o->max_attempts);
    }
    if (o->initial_backoff_ns < 1000) {
        return msb__err(err, MSB_EINVAL, "retry: initial_backoff_ns %llu is under 1 us",
                        (unsigned long long)o->initial_backoff_ns);
    }
    if (o->max_backoff_ns < o->initial_backoff_ns) {
        return msb__err(
            err, MSB_EINVAL, "retry: max_backoff_ns %llu is below initial_backoff_ns %llu",
            (unsigned long long)o->max_backoff_ns, (unsigned long long)o->initial_backoff_ns);
    }
    if (!(o->multiplier >= 1.0 && o->multiplier <= 100.0)) {
        return msb__err(err, MSB_EINVAL, "retry: multiplier %g not in [1, 100]", o->multiplier);
    }
    if ((unsigned)o->jitter > MSB_RETRY_JITTER_DECORRELATED) {
        return msb__err(err, MSB_EINVAL, "retry: jitter %d is not a jitter kind", (int)o->jitter);
    }
    if (o->budget != NULL && o->no_budget) {
        return msb__err(err, MSB_EINVAL, "retry: budget is set and no_budget is true");
    }
    return MSB_OK;
}

msb_status_t msb_retry_new(const msb_retry_opts_t *opts, msb_retry_t **out, msb_error_t *err)
{
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "retry: out is NULL");
    }
    *out = NULL;
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    if (opts != NULL) {
        msb__versioned_copy(&o, sizeof(o), opts, opts->size);
    }
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_retry_t *r = msb__calloc(1, sizeof(*r));
    if (r == NULL) {
        return msb__err_nomem(err, "a retry policy");
    }
    r->clock = o.clock != NULL ? o.clock : msb_clock_real();
    r->max_attempts = o.max_attempts;
    r->initial_ns = o.initial_backoff_ns;
    r->max_backoff_ns = o.max_backoff_ns;
    r->multiplier = o.multiplier;
    r->jitter = o.jitter;
    r->max_elapsed_ns = o.max_elapsed_ns;
    r->max_retry_after_ns = o.max_retry_after_ns;
    r->retryable = o.retryable;
    r->user = o.user;
    r->sleep = o.sleep;
    r->sleep_user = o.sleep_user;
    r->budget = o.budget;
    if (o.budget == NULL && !o.no_budget) {
        msb_retry_budget_opts_t bo = MSB_RETRY_BUDGET_OPTS_INIT;
        bo.clock = r->clock;
        if ((rc = msb_retry_budget_new(&bo, &r->budget, err)) != MSB_OK) {
            msb__free(r);
            return rc;
        }
        r->own_budget = true;
    }
    *out = r;
    return MSB_OK;
}

void msb_retry_free(msb_retry_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->own_budget) {
        msb_retry_budget_free(r->budget);
    }
    msb__free(r);
}

msb_retry_budget_t *msb_retry_budget(const msb_retry_t *r)
{
    return r->budget;
}

/* Uniform in [lo, hi]. */
static uint64_t uniform(uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    uint64_t span = hi - lo;
    return lo + (span == UINT64_MAX ? msb__rand_u64() : msb__rand_below(span + 1));
}

uint64_t msb__retry_backoff(const msb_retry_t *r, uint32_t n, uint64_t prev_ns)
{
    if (r->jitter == MSB_RETRY_JITTER_DECORRELATED) {
        uint64_t prev = prev_ns < r->initial_ns ? r->initial_ns : prev_ns;
        uint64_t hi = prev > r->max_backoff_ns / 3 ? r->max_backoff_ns : prev * 3;
        uint64_t d = uniform(r->initial_ns, hi);
        return d < r->max_backoff_ns ? d : r->max_backoff_ns;
    }
    double b = (double)r->initial_ns * pow(r->multiplier, (double)n);
    uint64_t base = b < (double)r->max_backoff_ns ? (uint64_t)b : r->max_backoff_ns;
    switch (r->jitter) {
    case MSB_RETRY_JITTER_FULL:
        return uniform(0, base);
    case MSB_RETRY_JITTER_EQUAL:
        return base / 2 + uniform(0, base - base / 2);
    default:
        return base;
    }
}

static bool default_retryable(msb_status_t status)
{
    return status == MSB_ETIMEDOUT || status == MSB_EUNAVAIL || status == MSB_EBUSY;
}

void msb_retry_begin(msb_retry_t *r, msb_retry_call_t *call)
{
    call->attempt = 1;
    call->reserved = 0;
    call->start_ns = r->clock->monotonic_ns(r->clock);
    call->prev_delay_ns = 0;
    if (r->budget != NULL) {
        msb_retry_budget_deposit(r->budget);
    }
}

msb_retry_verdict_t msb_retry_next(msb_retry_t *r, msb_retry_call_t *call, msb_status_t status,
                                   const void *detail, uint64_t retry_after_ns, uint64_t *delay_ns)
{
    *delay_ns = 0;
    if (status == MSB_OK) {
        return MSB_RETRY_DONE;
    }
    bool retry =
        r->retryable != NULL ? r->retryable(status, detail, r->user) : default_retryable(status);
    if (!retry) {
        return MSB_RETRY_NOT_RETRYABLE;
    }
    if (call->attempt >= r->max_attempts) {
        return MSB_RETRY_NO_ATTEMPTS;
    }
    if (retry_after_ns > r->max_retry_after_ns) {
        return MSB_RETRY_RETRY_AFTER;
    }
    uint64_t delay = msb__retry_backoff(r, call->attempt - 1, call->prev_delay_ns);
    if (retry_after_ns > delay) {
        delay = retry_after_ns;
    }
    if (r->max_elapsed_ns != 0) {
        uint64_t elapsed = r->clock->monotonic_ns(r->clock) - call->start_ns;
        if (elapsed >= r->max_elapsed_ns || delay > r->max_elapsed_ns - elapsed) {
            return MSB_RETRY_NO_TIME;
        }
    }
    if (r->budget != NULL && !msb_retry_budget_withdraw(r->budget)) {
        return MSB_RETRY_NO_BUDGET;
    }
    call->attempt++;
    call->prev_delay_ns = delay;
    *delay_ns = delay;
    return MSB_RETRY_AGAIN;
}

const char *msb_retry_verdict_name(msb_retry_verdict_t v)
{
    static const char *const names[] = {"again",   "done",      "not_retryable", "no_attempts",
                                        "no_time", "no_budget", "retry_after",   "canceled"};
    if ((unsigned)v < MSB_ARRAY_LEN(names)) {
        return names[v];
    }
    return "unknown";
}
