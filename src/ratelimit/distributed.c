/*
 * The distributed limiter, core side: options, the failure policies, the local fallback and the
 * counters. The Redis I/O is the backend's (src/ratelimit/redis/, in libmsb-redis.so), reached
 * through the driver table of src/ratelimit/driver.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/driver.h"
#include "core/error.h"
#include "core/hash.h"
#include "msb/ratelimit_redis.h"
#include "ratelimit/distributed.h"

msb_status_t msb__rlr_fill_reply(const msb_ratelimit_redis_t *rl, const msb__rl_reply_t *reply,
                                 msb_ratelimit_result_t *res)
{
    atomic_fetch_add_explicit(&((msb_ratelimit_redis_t *)rl)->redis, 1, memory_order_relaxed);
    res->allowed = reply->allowed;
    res->source = MSB_RATELIMIT_SOURCE_REDIS;
    res->limit = rl->p.burst;
    res->remaining = reply->remaining;
    res->reset_ns = reply->reset_ns;
    res->retry_after_ns = reply->allowed ? 0 : reply->retry_after_ns;
    res->window_ns = msb__rl_window_ns(&rl->p);
    return reply->allowed ? MSB_OK : MSB_EREJECTED;
}

void msb__rlr_record(msb_ratelimit_redis_t *rl, const msb_error_t *err)
{
    pthread_mutex_lock(&rl->err_lock);
    if (err != NULL && err->code != MSB_OK) {
        rl->last_err = *err;
    } else {
        msb__err(&rl->last_err, MSB_EUNAVAIL, "redis: unreachable");
    }
    pthread_mutex_unlock(&rl->err_lock);
}

/* The fallback keys are at most FALLBACK_KEY_MAX bytes; longer keys are replaced by a keyed
 * 128-bit digest (SipHash with per-process keys, so clients cannot make two keys collide). */
static size_t fallback_key(const void *key, size_t len, unsigned char *buf)
{
    if (len <= MSB__RLR_FALLBACK_KEY_MAX) {
        memcpy(buf, key, len);
        return len;
    }
    uint64_t h1 = msb__hash(key, len);
    uint64_t h2 = msb__siphash(key, len, h1, msb__hash("msb:rl", 6));
    buf[0] = 0xff;
    memcpy(buf + 1, &h1, 8);
    memcpy(buf + 9, &h2, 8);
    return 17;
}

msb_status_t msb__rlr_policy(msb_ratelimit_redis_t *rl, const void *key, size_t len, uint64_t n,
                             int64_t retry_in, msb_ratelimit_result_t *res)
{
    atomic_fetch_add_explicit(&rl->failures, 1, memory_order_relaxed);
    memset(res, 0, sizeof(*res));
    res->limit = rl->p.burst;
    res->window_ns = msb__rl_window_ns(&rl->p);
    switch (rl->policy) {
    case MSB_RATELIMIT_FAIL_OPEN:
        atomic_fetch_add_explicit(&rl->fail_open, 1, memory_order_relaxed);
        res->allowed = true;
        res->source = MSB_RATELIMIT_SOURCE_FAIL_OPEN;
        res->remaining = rl->p.burst;
        return MSB_OK;
    case MSB_RATELIMIT_FAIL_CLOSED:
        atomic_fetch_add_explicit(&rl->fail_closed, 1, memory_order_relaxed);
        res->source = MSB_RATELIMIT_SOURCE_FAIL_CLOSED;
        res->retry_after_ns = retry_in > MSB_MSEC ? retry_in : MSB_MSEC;
        res->reset_ns = res->retry_after_ns;
        return MSB_EREJECTED;
    case MSB_RATELIMIT_FAIL_LOCAL:
    default:
        break;
    }
    atomic_fetch_add_explicit(&rl->fallback, 1, memory_order_relaxed);
    unsigned char buf[MSB__RLR_FALLBACK_KEY_MAX];
    size_t flen = fallback_key(key, len, buf);
    msb_status_t rc = msb_ratelimit_keyed_take(rl->local, buf, flen, n, res);
    res->source = MSB_RATELIMIT_SOURCE_FALLBACK;
    if (rc == MSB_ERANGE) {
        /* more than the fallback's share of the burst: only Redis can grant it */
        rc = MSB_EREJECTED;
        res->retry_after_ns = retry_in > MSB_MSEC ? retry_in : MSB_MSEC;
    }
    return rc;
}

static msb_status_t check_opts(const msb_ratelimit_redis_opts_t *o, msb_error_t *err)
{
    // NOLINTNEXTLINE(bugprone-sizeof-expression): sizeof of the pointer field itself
    if (!MSB_OPT_HAS(o, limit) || o->limit == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: limit is required (the limit of each key)");
    }
    if (!MSB_OPT_HAS(o, url) || o->url == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: url is required (redis://host:port/db)");
    }
    const char *prefix = MSB_OPT_HAS(o, prefix) ? o->prefix : "msb:rl:";
    if (prefix == NULL || strlen(prefix) > 255) {
        return msb__err(err, MSB_EINVAL, "ratelimit: prefix must be a string of at most 255 bytes");
    }
    msb_ratelimit_failure_t f = MSB_OPT_HAS(o, on_failure) ? o->on_failure : 0;
    if (f != MSB_RATELIMIT_FAIL_LOCAL && f != MSB_RATELIMIT_FAIL_OPEN &&
        f != MSB_RATELIMIT_FAIL_CLOSED) {
        return msb__err(err, MSB_EINVAL, "ratelimit: on_failure %d is not a policy", (int)f);
    }
    if (MSB_OPT_HAS(o, local_divisor) && o->local_divisor == 0) {
        return msb__err(err, MSB_EINVAL, "ratelimit: local_divisor must be at least 1");
    }
    if (MSB_OPT_HAS(o, pool_size) && (o->pool_size == 0 || o->pool_size > 1024)) {
        return msb__err(err, MSB_EINVAL, "ratelimit: pool_size %zu is not in 1 .. 1024",
                        o->pool_size);
    }
    const struct {
        bool has;
        int64_t v;
        const char *name;
    } times[] = {
        /* a field past the caller's size is never read: it may lie beyond the struct */
        {MSB_OPT_HAS(o, connect_timeout_ns),
         MSB_OPT_HAS(o, connect_timeout_ns) ? o->connect_timeout_ns : 1, "connect_timeout_ns"},
        {MSB_OPT_HAS(o, timeout_ns), MSB_OPT_HAS(o, timeout_ns) ? o->timeout_ns : 1, "timeout_ns"},
        {MSB_OPT_HAS(o, backoff_min_ns), MSB_OPT_HAS(o, backoff_min_ns) ? o->backoff_min_ns : 1,
         "backoff_min_ns"},
        {MSB_OPT_HAS(o, backoff_max_ns), MSB_OPT_HAS(o, backoff_max_ns) ? o->backoff_max_ns : 1,
         "backoff_max_ns"},
    };
    for (size_t i = 0; i < MSB_ARRAY_LEN(times); i++) {
        if (times[i].has && times[i].v <= 0) {
            return msb__err(err, MSB_EINVAL, "ratelimit: %s must be positive, got %lld",
                            times[i].name, (long long)times[i].v);
        }
    }
    if (times[2].has && times[3].has && times[3].v < times[2].v) {
        return msb__err(err, MSB_EINVAL, "ratelimit: backoff_max_ns must be >= backoff_min_ns");
    }
    return MSB_OK;
}

/* The fallback: the same limit, divided among the processes that share it. */
static msb_status_t make_fallback(msb_ratelimit_redis_t *rl, const msb_ratelimit_redis_opts_t *o,
                                  msb_error_t *err)
{
    uint64_t div = MSB_OPT_HAS(o, local_divisor) ? o->local_divisor : 1;
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.algorithm = rl->p.algorithm;
    lim.rate = rl->p.rate / div > 0 ? rl->p.rate / div : 1;
    lim.period_ns = (int64_t)rl->p.period;
    lim.burst = rl->p.burst / div > 0 ? rl->p.burst / div : 1;
    lim.clock = rl->p.clock;
    msb_ratelimit_keyed_opts_t ko = MSB_RATELIMIT_KEYED_OPTS_INIT;
    ko.limit = &lim;
    ko.max_keys = MSB_OPT_HAS(o, local_max_keys) ? o->local_max_keys : 16384;
    ko.key_max = MSB__RLR_FALLBACK_KEY_MAX;
    msb_status_t rc = msb_ratelimit_keyed_new(&ko, &rl->local, err);
    if (rc == MSB_EINVAL) {
        return msb__err_prefix(err, rc, "ratelimit: local_max_keys: ");
    }
    return rc;
}

static void destroy(msb_ratelimit_redis_t *rl)
{
    if (rl->h != NULL) {
        rl->drv->close(rl->h);
    }
    msb_ratelimit_keyed_free(rl->local);
    pthread_mutex_destroy(&rl->err_lock);
    msb__free(rl);
}

static msb_status_t open_backend(msb_ratelimit_redis_t *rl, const msb_ratelimit_redis_opts_t *o,
                                 msb_error_t *err)
{
    const void *table = NULL;
    msb_status_t rc = msb__driver_get("ratelimit", "redis", &table, err);
    if (rc != MSB_OK) {
        return rc;
    }
    rl->drv = table;
    if (rl->drv->abi != MSB__RATELIMIT_DRIVER_ABI) {
        return msb__err(err, MSB_ENOTSUP,
                        "ratelimit: libmsb-redis.so is from another build (driver ABI %u, want %u)",
                        rl->drv->abi, MSB__RATELIMIT_DRIVER_ABI);
    }
    msb__rl_backend_cfg_t cfg = {
        .url = o->url,
        .prefix = MSB_OPT_HAS(o, prefix) ? o->prefix : "msb:rl:",
        .pool_size = MSB_OPT_HAS(o, pool_size) ? o->pool_size : 4,
        .connect_timeout_ns =
            MSB_OPT_HAS(o, connect_timeout_ns) ? o->connect_timeout_ns : 200 * MSB_MSEC,
        .timeout_ns = MSB_OPT_HAS(o, timeout_ns) ? o->timeout_ns : 100 * MSB_MSEC,
        .backoff_min_ns = MSB_OPT_HAS(o, backoff_min_ns) ? o->backoff_min_ns : 100 * MSB_MSEC,
        .backoff_max_ns = MSB_OPT_HAS(o, backoff_max_ns) ? o->backoff_max_ns : 2 * MSB_SEC,
        .params = &rl->p,
    };
    if (cfg.backoff_max_ns < cfg.backoff_min_ns) {
        return msb__err(err, MSB_EINVAL, "ratelimit: backoff_max_ns must be >= backoff_min_ns");
    }
    rl->backoff_min_ns = cfg.backoff_min_ns;
    return rl->drv->open(&cfg, &rl->h, err);
}

msb_status_t msb_ratelimit_redis_new(const msb_ratelimit_redis_opts_t *opts,
                                     msb_ratelimit_redis_t **out, msb_error_t *err)
{
    if (opts == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: options and out are required");
    }
    msb_status_t rc = check_opts(opts, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_ratelimit_redis_t *rl = msb__calloc(1, sizeof(*rl));
    if (rl == NULL) {
        return msb__err_nomem(err, "a distributed rate limiter");
    }
    pthread_mutex_init(&rl->err_lock, NULL);
    rl->policy = MSB_OPT_HAS(opts, on_failure) ? opts->on_failure : MSB_RATELIMIT_FAIL_LOCAL;
    rc = msb__rl_params_init(opts->limit, "limit.", &rl->p, err);
    if (rc == MSB_OK && rl->policy == MSB_RATELIMIT_FAIL_LOCAL) {
        rc = make_fallback(rl, opts, err);
    }
    if (rc == MSB_OK) {
        rc = open_backend(rl, opts, err);
    }
    if (rc != MSB_OK) {
        destroy(rl);
        return rc;
    }
    *out = rl;
    return MSB_OK;
}

void msb_ratelimit_redis_free(msb_ratelimit_redis_t *rl)
{
    if (rl != NULL) {
        destroy(rl);
    }
}

msb_status_t msb__rlr_check(const msb_ratelimit_redis_t *rl, const void *key, size_t len,
                            uint64_t n, msb_ratelimit_result_t *res)
{
    if (key == NULL || len == 0) {
        return MSB_EINVAL;
    }
    if (len > rl->drv->key_max) {
        return MSB_ETOOBIG;
    }
    if (n > rl->p.burst) {
        if (res != NULL) {
            memset(res, 0, sizeof(*res));
            res->limit = rl->p.burst;
            res->retry_after_ns = -1;
            res->window_ns = msb__rl_window_ns(&rl->p);
        }
        return MSB_ERANGE;
    }
    return MSB_OK;
}

msb_status_t msb_ratelimit_redis_take(msb_ratelimit_redis_t *rl, const void *key, size_t key_len,
                                      uint64_t n, msb_ratelimit_result_t *res)
{
    if (rl == NULL) {
        return MSB_EINVAL;
    }
    msb_status_t rc = msb__rlr_check(rl, key, key_len, n, res);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_ratelimit_result_t local;
    if (res == NULL) {
        res = &local;
    }
    msb__rl_reply_t reply;
    msb_error_t err = MSB_ERROR_INIT;
    rc = rl->drv->take(rl->h, key, key_len, n, &reply, &err);
    if (rc == MSB_OK) {
        return msb__rlr_fill_reply(rl, &reply, res);
    }
    msb__rlr_record(rl, &err);
    return msb__rlr_policy(rl, key, key_len, n, rl->drv->retry_in(rl->h), res);
}

bool msb_ratelimit_redis_up(msb_ratelimit_redis_t *rl)
{
    return rl != NULL && rl->drv->up(rl->h);
}

void msb_ratelimit_redis_last_error(msb_ratelimit_redis_t *rl, msb_error_t *out)
{
    if (out == NULL) {
        return;
    }
    if (rl == NULL) {
        *out = (msb_error_t)MSB_ERROR_INIT;
        return;
    }
    pthread_mutex_lock(&rl->err_lock);
    *out = rl->last_err;
    pthread_mutex_unlock(&rl->err_lock);
}

void msb_ratelimit_redis_stats(msb_ratelimit_redis_t *rl, msb_ratelimit_redis_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (rl == NULL) {
        return;
    }
    out->redis = atomic_load_explicit(&rl->redis, memory_order_relaxed);
    out->failures = atomic_load_explicit(&rl->failures, memory_order_relaxed);
    out->fail_open = atomic_load_explicit(&rl->fail_open, memory_order_relaxed);
    out->fail_closed = atomic_load_explicit(&rl->fail_closed, memory_order_relaxed);
    out->fallback = atomic_load_explicit(&rl->fallback, memory_order_relaxed);
}
