/* Validation of a limit's options, and the translation of decisions into durations. */
#include "core/error.h"
#include "ratelimit/internal.h"

msb_status_t msb__rl_params_init(const msb_ratelimit_opts_t *o, const char *what,
                                 msb__rl_params_t *p, msb_error_t *err)
{
    if (o == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: %soptions are required (rate has no default)",
                        what);
    }
    if (o->size < offsetof(msb_ratelimit_opts_t, algorithm) + sizeof(o->algorithm)) {
        return msb__err(err, MSB_EINVAL,
                        "ratelimit: %ssize %zu is too small: initialise the options with "
                        "MSB_RATELIMIT_OPTS_INIT",
                        what, o->size);
    }
    msb_ratelimit_algorithm_t alg = o->algorithm;
    uint64_t rate = MSB_OPT_HAS(o, rate) ? o->rate : 0;
    int64_t period = MSB_OPT_HAS(o, period_ns) ? o->period_ns : MSB_SEC;
    uint64_t burst = MSB_OPT_HAS(o, burst) ? o->burst : 0;
    // NOLINTNEXTLINE(bugprone-sizeof-expression): sizeof of the pointer field itself
    const msb_clock_t *clock = MSB_OPT_HAS(o, clock) ? o->clock : NULL;

    if (alg != MSB_RATELIMIT_GCRA && alg != MSB_RATELIMIT_TOKEN_BUCKET) {
        return msb__err(err, MSB_EINVAL,
                        "ratelimit: %salgorithm %d is not MSB_RATELIMIT_GCRA or "
                        "MSB_RATELIMIT_TOKEN_BUCKET",
                        what, (int)alg);
    }
    if (rate == 0) {
        return msb__err(err, MSB_EINVAL, "ratelimit: %srate must be at least 1 permit per period",
                        what);
    }
    if (period <= 0) {
        return msb__err(err, MSB_EINVAL, "ratelimit: %speriod_ns must be positive, got %lld", what,
                        (long long)period);
    }
    if (rate > (uint64_t)period) {
        return msb__err(err, MSB_EINVAL,
                        "ratelimit: %srate %llu per %lld ns exceeds one permit per nanosecond",
                        what, (unsigned long long)rate, (long long)period);
    }
    if (burst == 0) {
        burst = rate;
    }
    uint64_t unit = 1;
    if (alg == MSB_RATELIMIT_GCRA) {
        unit = ((uint64_t)period + rate - 1) / rate;
    }
    if (burst > MSB__RL_CAP_MAX / unit) {
        return msb__err(err, MSB_EINVAL,
                        "ratelimit: %sburst %llu is too large (burst x period/rate must stay "
                        "under 2^62 ns)",
                        what, (unsigned long long)burst);
    }
    p->clock = clock != NULL ? clock : msb_clock_real();
    p->epoch = p->clock->monotonic_ns(p->clock);
    p->unit = unit;
    p->cap = burst * unit;
    p->period = (uint64_t)period;
    p->rate = rate;
    p->burst = burst;
    p->algorithm = alg;
    return MSB_OK;
}

static int64_t clamp_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Time from `now` until the token axis has advanced by `tokens`: whole periods, so the answer
 * lands on a period boundary. */
static uint64_t tokens_to_ns(const msb__rl_params_t *p, uint64_t tokens, uint64_t now)
{
    if (tokens == 0) {
        return 0;
    }
    uint64_t periods = (tokens + p->rate - 1) / p->rate;
    uint64_t tick = now / p->period;
    return (tick + periods) * p->period - now;
}

static uint64_t axis_to_ns(const msb__rl_params_t *p, uint64_t amount, uint64_t now)
{
    if (p->algorithm == MSB_RATELIMIT_GCRA) {
        return amount;
    }
    return tokens_to_ns(p, amount, now);
}

int64_t msb__rl_window_ns(const msb__rl_params_t *p)
{
    if (p->algorithm == MSB_RATELIMIT_GCRA) {
        return clamp_i64(p->cap);
    }
    uint64_t periods = (p->burst + p->rate - 1) / p->rate;
    return periods > (uint64_t)INT64_MAX / p->period ? INT64_MAX : (int64_t)(periods * p->period);
}

void msb__rl_fill(const msb__rl_params_t *p, const msb__rl_decision_t *d, uint64_t now,
                  msb_ratelimit_result_t *res)
{
    res->allowed = d->allowed;
    res->source = MSB_RATELIMIT_SOURCE_LOCAL;
    res->limit = p->burst;
    res->remaining = (p->cap - d->gap) / p->unit;
    res->reset_ns = clamp_i64(axis_to_ns(p, d->gap, now));
    res->retry_after_ns = d->allowed ? 0 : clamp_i64(axis_to_ns(p, d->deficit, now));
    res->window_ns = msb__rl_window_ns(p);
}

void msb__rl_fill_never(const msb__rl_params_t *p, uint64_t s, uint64_t now,
                        msb_ratelimit_result_t *res)
{
    msb__rl_decision_t d = msb__rl_decide(p, s, msb__rl_x(p, now), 0);
    msb__rl_fill(p, &d, now, res);
    res->allowed = false;
    res->retry_after_ns = -1;
}
