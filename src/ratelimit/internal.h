/*
 * Shared by the rate limiters: validated parameters and the one decision rule.
 *
 * Both algorithms are the same rule on a different axis. A limiter's state `s` is a position on
 * a "virtual time" axis x that grows with the clock:
 *   GCRA          x = ns since the limiter's epoch; one permit costs unit = T = ceil(period/rate)
 *                 ns; cap = burst * T (the theoretical arrival time may run cap ahead of now).
 *   token bucket  x = tokens added since the epoch = floor(ns / period) * rate; one permit costs
 *                 unit = 1 token; cap = burst tokens.
 * A request for n permits at x is granted when max(s, x) + n*unit - x <= cap, and then
 * s = max(s, x) + n*unit. The permits available at x are (cap - (max(s, x) - x)) / unit, and the
 * limiter is full when s <= x. Rounding T up means a limiter never grants more than its rate.
 * Every quantity stays below 2^63: x is bounded by the run time in ns (rate <= 1/ns makes the
 * token axis no faster than the time axis) and cap by 2^62 (checked at creation).
 */
#ifndef MSB_RATELIMIT_INTERNAL_H
#define MSB_RATELIMIT_INTERNAL_H

#include "core/common.h"
#include "msb/ratelimit.h"

/* Most a limit's cap may be, in ns or tokens. */
#define MSB__RL_CAP_MAX (UINT64_C(1) << 62)

typedef struct msb__rl_params {
    const msb_clock_t *clock;
    uint64_t epoch;  /* clock reading at creation */
    uint64_t unit;   /* cost of one permit on the x axis */
    uint64_t cap;    /* burst * unit */
    uint64_t period; /* ns */
    uint64_t rate;   /* permits per period */
    uint64_t burst;
    msb_ratelimit_algorithm_t algorithm;
} msb__rl_params_t;

/* The outcome of the rule, on the x axis. */
typedef struct msb__rl_decision {
    bool allowed;
    uint64_t next;    /* the new state when allowed */
    uint64_t gap;     /* after the decision: how far the state runs ahead of x (0 = full) */
    uint64_t deficit; /* when denied: how far x must advance before the request fits */
} msb__rl_decision_t;

/*
 * Validate `o` (the prefix "what" names the fields in messages: "limit." for an embedded
 * limit) and fill `p`, reading the clock for the epoch.
 */
MSB_INTERNAL msb_status_t msb__rl_params_init(const msb_ratelimit_opts_t *o, const char *what,
                                              msb__rl_params_t *p, msb_error_t *err);

/* Round `p` up to a cache line (pointer arithmetic: no integer-to-pointer cast). */
static inline void *msb__rl_align_line(void *p)
{
    size_t mis = (uintptr_t)p % MSB_CACHELINE;
    return (char *)p + (mis == 0 ? 0 : MSB_CACHELINE - mis);
}

/* Nanoseconds since the epoch on `p`'s clock (0 if the clock reads earlier than the epoch). */
static inline uint64_t msb__rl_now(const msb__rl_params_t *p)
{
    uint64_t t = p->clock->monotonic_ns(p->clock);
    return t > p->epoch ? t - p->epoch : 0;
}

/* The position on the x axis at `now` (ns since the epoch). */
static inline uint64_t msb__rl_x(const msb__rl_params_t *p, uint64_t now)
{
    if (p->algorithm == MSB_RATELIMIT_GCRA) {
        return now;
    }
    return (now / p->period) * p->rate;
}

/* The rule itself: n permits (n * unit <= cap) against state s at x. */
static inline msb__rl_decision_t msb__rl_decide(const msb__rl_params_t *p, uint64_t s, uint64_t x,
                                                uint64_t n)
{
    msb__rl_decision_t d;
    uint64_t base = s > x ? s : x;
    uint64_t next = base + n * p->unit;
    uint64_t ahead = next - x;
    d.allowed = ahead <= p->cap;
    d.next = next;
    d.gap = d.allowed ? ahead : base - x;
    d.deficit = d.allowed ? 0 : ahead - p->cap;
    return d;
}

/* Fill `res` from a decision taken at `now` (ns since the epoch). */
MSB_INTERNAL void msb__rl_fill(const msb__rl_params_t *p, const msb__rl_decision_t *d, uint64_t now,
                               msb_ratelimit_result_t *res);

/* Fill `res` for a request of more permits than the burst (checked by the caller). */
MSB_INTERNAL void msb__rl_fill_never(const msb__rl_params_t *p, uint64_t s, uint64_t now,
                                     msb_ratelimit_result_t *res);

/* Time to refill `limit` permits from none: RateLimit-Policy's window. */
MSB_INTERNAL int64_t msb__rl_window_ns(const msb__rl_params_t *p);

#endif
