/* The cache handle: options, validation, and the plain operations over the tiers. */
#include <math.h>
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/driver.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/rand.h"
#include "core/str.h"

#define KEY_LEN_LIMIT  65536u
#define DEFAULT_SHARDS 64u

msb_status_t msb__cache_check_key(const msb_cache_t *c, const void *key, size_t key_len,
                                  msb_error_t *err)
{
    if (key == NULL || key_len == 0) {
        msb__err(err, MSB_EINVAL, "cache: empty key");
        return MSB_EINVAL;
    }
    if (key_len > c->max_key_len) {
        msb__err(err, MSB_ETOOBIG, "cache: key of %zu bytes exceeds max_key_len %zu", key_len,
                 c->max_key_len);
        return MSB_ETOOBIG;
    }
    return MSB_OK;
}

msb_status_t msb__cache_check_value(const msb_cache_t *c, const void *value, size_t len,
                                    msb_error_t *err)
{
    if (value == NULL && len > 0) {
        return msb__err(err, MSB_EINVAL, "cache: NULL value of %zu bytes", len);
    }
    if (len > c->max_value_len) {
        return msb__err(err, MSB_ETOOBIG, "cache: value of %zu bytes exceeds max_value_len %zu",
                        len, c->max_value_len);
    }
    return MSB_OK;
}

msb_status_t msb__cache_ttl(const msb_cache_t *c, int64_t ttl_ns, bool negative,
                            msb__cache_ttl_t *out, msb_error_t *err)
{
    int64_t fresh = ttl_ns;
    if (negative) {
        fresh = c->negative_ttl_ns;
    } else if (ttl_ns == MSB_CACHE_TTL_DEFAULT) {
        fresh = c->default_ttl_ns;
    } else if (ttl_ns == MSB_CACHE_TTL_NONE) {
        fresh = 0;
    } else if (ttl_ns < 0) {
        return msb__err(err, MSB_EINVAL, "cache: ttl %lld ns is negative", (long long)ttl_ns);
    }
    if (fresh > 0 && c->ttl_jitter > 0) {
        int64_t cut = (int64_t)((double)fresh * c->ttl_jitter * msb__rand_double());
        fresh = fresh - cut > 0 ? fresh - cut : 1;
    }
    out->fresh_ns = fresh;
    out->stale_ns = fresh > 0 && !negative ? c->stale_ns : 0;
    return MSB_OK;
}

static unsigned round_pow2(unsigned n)
{
    unsigned p = 1;
    while (p < n && p < (1u << 16)) {
        p <<= 1;
    }
    return p;
}

typedef struct cfg {
    msb_cache_opts_t o;
    msb__l1_cfg_t l1;
} cfg_t;

static msb_status_t check_opts(cfg_t *cfg, msb_error_t *err)
{
    const msb_cache_opts_t *o = &cfg->o;
    if (o->max_entries == 0) {
        return msb__err(err, MSB_EINVAL, "cache: max_entries must be at least 1");
    }
    if (o->max_key_len == 0 || o->max_key_len > KEY_LEN_LIMIT) {
        return msb__err(err, MSB_EINVAL, "cache: max_key_len %zu not in [1, %u]", o->max_key_len,
                        KEY_LEN_LIMIT);
    }
    if (o->max_value_len > UINT32_MAX - 1 || o->max_value_len > o->max_bytes / 2) {
        return msb__err(err, MSB_EINVAL,
                        "cache: max_value_len %zu must be at most half of max_bytes %zu",
                        o->max_value_len, o->max_bytes);
    }
    if (!(o->ttl_jitter >= 0 && o->ttl_jitter < 1)) {
        return msb__err(err, MSB_EINVAL, "cache: ttl_jitter %g not in [0, 1)", o->ttl_jitter);
    }
    if (o->default_ttl_ns < 0 || o->stale_ns < 0 || o->negative_ttl_ns < 0 || o->l1_ttl_ns < 0) {
        return msb__err(err, MSB_EINVAL,
                        "cache: default_ttl_ns, stale_ns, negative_ttl_ns and l1_ttl_ns must not "
                        "be negative");
    }
    if (o->shards > (1u << 16)) {
        return msb__err(err, MSB_EINVAL, "cache: shards %u exceeds 65536", o->shards);
    }
    unsigned shards = round_pow2(o->shards == 0 ? DEFAULT_SHARDS : o->shards);
    /* Each shard must hold the largest entry: fewer shards for small bounds. */
    size_t biggest = msb__cache_entry_size(o->max_key_len, o->max_value_len);
    while (shards > 1 && (o->max_bytes / shards < biggest || o->max_entries / shards < 1)) {
        shards >>= 1;
    }
    cfg->l1.max_entries = o->max_entries;
    cfg->l1.max_bytes = o->max_bytes;
    cfg->l1.shards = shards;
    cfg->l1.clock = o->clock != NULL ? o->clock : msb_clock_coarse();
    return MSB_OK;
}

/* Copy the caller's options field by field as far as its struct goes. */
static void read_opts(const msb_cache_opts_t *in, msb_cache_opts_t *o)
{
    msb_cache_opts_t def = MSB_CACHE_OPTS_INIT;
    *o = def;
    if (in == NULL) {
        return;
    }
#define TAKE(f)                                                                                    \
    if (MSB_OPT_HAS(in, f)) {                                                                      \
        o->f = in->f;                                                                              \
    }
    TAKE(url)
    TAKE(two_tier)
    TAKE(max_entries)
    TAKE(max_bytes)
    TAKE(max_key_len)
    TAKE(max_value_len)
    TAKE(shards)
    TAKE(default_ttl_ns)
    TAKE(ttl_jitter)
    TAKE(stale_ns)
    TAKE(negative_ttl_ns)
    // NOLINTNEXTLINE(bugprone-sizeof-expression): the pointer field's own size
    TAKE(clock)
    TAKE(prefix)
    TAKE(channel)
    TAKE(pool_size)
    TAKE(connect_timeout_ns)
    TAKE(timeout_ns)
    TAKE(l1_ttl_ns)
    TAKE(executor)
    TAKE(executor_user)
    // NOLINTNEXTLINE(bugprone-sizeof-expression): the pointer field's own size
    TAKE(metrics)
    TAKE(metrics_prefix)
#undef TAKE
}

static bool is_memory_url(const char *url)
{
    return url == NULL || url[0] == '\0' || strcmp(url, "memory:") == 0;
}

static msb_status_t open_backend(msb_cache_t *c, const msb_cache_opts_t *o, msb_error_t *err)
{
    const char *colon = strchr(o->url, ':');
    if (colon == NULL || !msb__ascii_ieq(o->url, (size_t)(colon - o->url), "redis")) {
        size_t n = colon != NULL ? (size_t)(colon - o->url) : 0;
        return msb__err(err, MSB_ENOTSUP,
                        "cache: url: unknown scheme \"%.*s\" (expected memory: or redis://)",
                        (int)(n > 32 ? 32 : n), o->url);
    }
    if (o->pool_size == 0 || o->connect_timeout_ns <= 0 || o->timeout_ns <= 0) {
        return msb__err(err, MSB_EINVAL,
                        "cache: pool_size, connect_timeout_ns and timeout_ns must be positive");
    }
    const void *drv = NULL;
    msb_status_t rc = msb__driver_get("cache", "redis", &drv, err);
    if (rc != MSB_OK) {
        return rc;
    }
    c->drv = drv;
    if (c->drv->abi != MSB__CACHE_DRIVER_ABI) {
        return msb__err(err, MSB_EUNAVAIL, "cache: the redis plugin is from another build");
    }
    char channel[512];
    const char *prefix = o->prefix != NULL ? o->prefix : "msb:c:";
    if (o->channel == NULL) {
        size_t n = msb__strlcpy(channel, prefix, sizeof(channel));
        if (n + 6 > sizeof(channel)) {
            return msb__err(err, MSB_EINVAL, "cache: prefix is longer than 500 bytes");
        }
        memcpy(channel + n, "inval", 6);
    }
    msb__cache_backend_cfg_t bc = {
        .url = o->url,
        .prefix = prefix,
        .channel = o->channel != NULL ? o->channel : channel,
        .pool_size = o->pool_size,
        .connect_timeout_ns = o->connect_timeout_ns,
        .timeout_ns = o->timeout_ns,
    };
    return c->drv->open(&bc, &c->backend, err);
}

void msb_cache_free(msb_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    msb__cache_metrics_stop(c);
    if (c->jobs_init) {
        pthread_mutex_lock(&c->jobs_mu);
        while (c->jobs > 0) {
            pthread_cond_wait(&c->jobs_cv, &c->jobs_mu);
        }
        pthread_mutex_unlock(&c->jobs_mu);
        pthread_cond_destroy(&c->jobs_cv);
        pthread_mutex_destroy(&c->jobs_mu);
    }
    if (c->sub != NULL) {
        c->drv->unsubscribe(c->sub);
    }
    if (c->backend != NULL) {
        c->drv->close(c->backend);
    }
    msb__l1_free(c->l1);
    msb__flights_free(c->flights);
    msb__free(c);
}

msb_status_t msb_cache_new(const msb_cache_opts_t *opts, msb_cache_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL out");
    }
    cfg_t cfg;
    read_opts(opts, &cfg.o);
    msb_status_t rc = check_opts(&cfg, err);
    if (rc != MSB_OK) {
        return rc;
    }
    const msb_cache_opts_t *o = &cfg.o;
    msb_cache_t *c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return msb__err_nomem(err, "a cache");
    }
    c->clock = cfg.l1.clock;
    c->instance = msb__rand_u64();
    c->seed[0] = msb__rand_u64();
    c->seed[1] = msb__rand_u64();
    c->max_key_len = o->max_key_len;
    c->max_value_len = o->max_value_len;
    c->default_ttl_ns = o->default_ttl_ns;
    c->ttl_jitter = o->ttl_jitter;
    c->stale_ns = o->stale_ns;
    c->negative_ttl_ns = o->negative_ttl_ns;
    c->l1_ttl_ns = o->l1_ttl_ns;
    c->executor = o->executor;
    c->executor_user = o->executor_user;
    bool memory = is_memory_url(o->url);
    if (pthread_cond_init(&c->jobs_cv, NULL) != 0) {
        msb__free(c);
        return msb__err_nomem(err, "a cache");
    }
    pthread_mutex_init(&c->jobs_mu, NULL);
    c->jobs_init = true;
    rc = msb__flights_new(cfg.l1.shards, &c->flights, err);
    if (rc == MSB_OK && !memory) {
        rc = open_backend(c, o, err);
    }
    if (rc == MSB_OK && (memory || o->two_tier)) {
        rc = msb__l1_new(&cfg.l1, &c->l1, err);
    }
    if (rc == MSB_OK && !memory && o->two_tier) {
        rc = msb__cache_sub_start(c, err);
    }
    if (rc == MSB_OK && o->metrics != NULL) {
        rc = msb__cache_metrics_start(
            c, o->metrics, o->metrics_prefix != NULL ? o->metrics_prefix : "msb_cache", err);
    }
    if (rc != MSB_OK) {
        msb_cache_free(c);
        return rc;
    }
    *out = c;
    return MSB_OK;
}

/* A lookup through every tier; stale entries count as misses here. */
static msb_status_t lookup(msb_cache_t *c, const void *key, size_t key_len, msb_cache_value_t **out,
                           msb_error_t *err)
{
    uint64_t hash = msb__cache_hash(c, key, key_len);
    msb_cache_value_t *v = NULL;
    if (c->drv == NULL) {
        /* In-process only: the shards count hits and misses themselves. */
        msb__l1_state_t st = msb__l1_lookup(c->l1, hash, key, key_len, false, &v);
        if (st == MSB__L1_FRESH) {
            *out = v;
            return MSB_OK;
        }
        msb_cache_value_release(v);
        if (st == MSB__L1_NEGATIVE) {
            MSB__STAT_ADD(c, negative_hits);
        }
        return MSB_ENOTFOUND;
    }
    msb__l1_state_t st = MSB__L1_MISS;
    if (c->l1 != NULL) {
        st = msb__l1_lookup(c->l1, hash, key, key_len, true, &v);
        if (st == MSB__L1_FRESH) {
            MSB__STAT_ADD(c, hits);
            MSB__STAT_ADD(c, l1_hits);
            *out = v;
            return MSB_OK;
        }
        msb_cache_value_release(v);
        v = NULL;
        if (st == MSB__L1_NEGATIVE) {
            MSB__STAT_ADD(c, negative_hits);
            return MSB_ENOTFOUND;
        }
    }
    msb_status_t rc = msb__cache_l2_get(c, hash, key, key_len, &st, &v, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (st == MSB__L1_FRESH) {
        MSB__STAT_ADD(c, hits);
        MSB__STAT_ADD(c, l2_hits);
        *out = v;
        return MSB_OK;
    }
    msb_cache_value_release(v);
    if (st == MSB__L1_NEGATIVE) {
        MSB__STAT_ADD(c, negative_hits);
    } else {
        MSB__STAT_ADD(c, misses);
    }
    return MSB_ENOTFOUND;
}

msb_status_t msb_cache_get(msb_cache_t *c, const void *key, size_t key_len, msb_cache_value_t **out,
                           msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL out");
    }
    return lookup(c, key, key_len, out, err);
}

msb_status_t msb_cache_get_copy(msb_cache_t *c, const void *key, size_t key_len, void *buf,
                                size_t cap, size_t *len, msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (len == NULL || (buf == NULL && cap > 0)) {
        return msb__err(err, MSB_EINVAL, "cache: NULL len or buffer");
    }
    msb_cache_value_t *v = NULL;
    rc = lookup(c, key, key_len, &v, err);
    if (rc != MSB_OK) {
        return rc;
    }
    *len = v->len;
    if (v->len > cap) {
        rc = msb__err(err, MSB_ETOOBIG, "cache: value of %zu bytes does not fit in %zu",
                      (size_t)v->len, cap);
    } else if (v->len > 0) {
        memcpy(buf, msb__cache_value_bytes(v), v->len);
    }
    msb_cache_value_release(v);
    return rc;
}

msb_status_t msb_cache_peek(msb_cache_t *c, const void *key, size_t key_len,
                            msb_cache_value_t **out, msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL out");
    }
    if (c->l1 == NULL) {
        return MSB_ENOTFOUND;
    }
    msb_cache_value_t *v = NULL;
    uint64_t hash = msb__cache_hash(c, key, key_len);
    if (msb__l1_lookup(c->l1, hash, key, key_len, true, &v) == MSB__L1_FRESH) {
        *out = v;
        return MSB_OK;
    }
    msb_cache_value_release(v);
    return MSB_ENOTFOUND;
}

msb_status_t msb_cache_set(msb_cache_t *c, const void *key, size_t key_len, const void *value,
                           size_t value_len, int64_t ttl_ns, msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc == MSB_OK) {
        rc = msb__cache_check_value(c, value, value_len, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    uint64_t hash = msb__cache_hash(c, key, key_len);
    bool forever =
        ttl_ns == MSB_CACHE_TTL_NONE || (ttl_ns == MSB_CACHE_TTL_DEFAULT && c->default_ttl_ns == 0);
    if (c->drv == NULL && forever &&
        msb__l1_overwrite(c->l1, hash, key, key_len, value, value_len, MSB__CACHE_NEVER,
                          MSB__CACHE_NEVER)) {
        return MSB_OK; /* in place: no TTL arithmetic, no allocation */
    }
    msb__cache_ttl_t ttl;
    rc = msb__cache_ttl(c, ttl_ns, false, &ttl, err);
    if (rc != MSB_OK) {
        return rc;
    }
    return msb__cache_store(c, hash, key, key_len, value, value_len, 0, &ttl, NULL, err);
}

void msb_cache_stats(msb_cache_t *c, msb_cache_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (c->l1 != NULL) {
        msb__l1_stats(c->l1, out);
    }
#define ADD(f) out->f += atomic_load_explicit(&c->f, memory_order_relaxed)
    ADD(hits);
    ADD(misses);
    ADD(stale_hits);
    ADD(negative_hits);
    ADD(l1_hits);
    ADD(l2_hits);
    ADD(sets);
    ADD(deletes);
    ADD(loads);
    ADD(load_errors);
    ADD(coalesced);
    ADD(invalidations);
    ADD(backend_errors);
    ADD(subscriber_connects);
#undef ADD
}
