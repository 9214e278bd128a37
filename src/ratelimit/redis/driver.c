/* The rate limiter's Redis backend: the blocking half and the driver table. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ratelimit/redis/internal.h"

static msb_status_t rl_open(const msb__rl_backend_cfg_t *cfg, void **out, msb_error_t *err)
{
    size_t plen = strlen(cfg->prefix);
    if (plen >= MSB__RL_PREFIX_MAX) {
        return msb__err(err, MSB_EINVAL, "ratelimit: prefix is longer than %d bytes",
                        MSB__RL_PREFIX_MAX - 1);
    }
    msb__rl_redis_t *r = msb__calloc(1, sizeof(*r));
    if (r == NULL) {
        return msb__err_nomem(err, "a Redis rate limiter");
    }
    msb_status_t rc = msb__redis_url_parse(cfg->url, &r->url, err);
    if (rc != MSB_OK) {
        msb__free(r);
        return msb__err_prefix(err, rc, "ratelimit: url: ");
    }
    msb__redis_url_where(&r->url, r->where, sizeof(r->where));
    memcpy(r->prefix, cfg->prefix, plen);
    r->prefix_len = plen;
    r->connect_timeout_ns = cfg->connect_timeout_ns;
    r->timeout_ns = cfg->timeout_ns;
    r->backoff_min_ns = cfg->backoff_min_ns;
    r->backoff_max_ns = cfg->backoff_max_ns;
    msb__rl_script_args(cfg->params, &r->args);
    msb__redis_pool_opts_t po = {
        .url = &r->url,
        .timeouts = {cfg->connect_timeout_ns, cfg->timeout_ns},
        .size = cfg->pool_size,
        .backoff_min_ns = cfg->backoff_min_ns,
        .backoff_max_ns = cfg->backoff_max_ns,
        .clock = NULL,
    };
    rc = msb__redis_pool_new(&po, &r->pool, err);
    if (rc != MSB_OK) {
        msb__free(r);
        return rc;
    }
    *out = r;
    return MSB_OK;
}

static void rl_close(void *h)
{
    msb__rl_redis_t *r = h;
    if (r != NULL) {
        msb__redis_pool_free(r->pool);
        msb__free(r);
    }
}

/* Run the script on `c`: EVALSHA, then EVAL when the server does not know the script yet. */
static msb_status_t run_script(msb__rl_redis_t *r, redisContext *c, const void *key, size_t len,
                               uint64_t n, msb__rl_reply_t *out, bool *broken, msb_error_t *err)
{
    msb__rl_command_t cmd;
    redisReply *reply = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        msb__rl_command(&cmd, &r->args, r->prefix, r->prefix_len, key, len, n, attempt == 1);
        msb_status_t rc = msb__redis_command(c, 9, cmd.argv, cmd.lens, &reply, err);
        if (rc != MSB_OK) {
            *broken = true;
            return rc;
        }
        if (!msb__rl_noscript(reply)) {
            break;
        }
        freeReplyObject(reply);
        reply = NULL;
    }
    if (reply == NULL) {
        return msb__err(err, MSB_EPROTO, "redis %s: EVAL answered NOSCRIPT", r->where);
    }
    msb_status_t rc = msb__rl_script_reply(reply, r->where, out, err);
    freeReplyObject(reply);
    /* A server that cannot serve now (LOADING, READONLY after a failover …) is treated like one
     * that is down: drop the connection and back off. */
    *broken = rc == MSB_EUNAVAIL;
    return rc;
}

static msb_status_t rl_take(void *h, const void *key, size_t len, uint64_t n, msb__rl_reply_t *out,
                            msb_error_t *err)
{
    msb__rl_redis_t *r = h;
    redisContext *c = NULL;
    msb_status_t rc = msb__redis_pool_get(r->pool, &c, err);
    if (rc != MSB_OK) {
        return rc;
    }
    bool broken = false;
    msb_error_t local = MSB_ERROR_INIT;
    rc = run_script(r, c, key, len, n, out, &broken, &local);
    msb__redis_pool_put(r->pool, c, broken, &local);
    if (rc != MSB_OK && err != NULL) {
        *err = local;
    }
    return rc;
}

static bool rl_up(void *h)
{
    return msb__redis_pool_up(((msb__rl_redis_t *)h)->pool);
}

static int64_t rl_retry_in(void *h)
{
    return msb__redis_pool_retry_in(((msb__rl_redis_t *)h)->pool);
}

static const msb__ratelimit_driver_t driver = {
    .abi = MSB__RATELIMIT_DRIVER_ABI,
    .key_max = MSB__RL_KEY_MAX,
    .open = rl_open,
    .close = rl_close,
    .take = rl_take,
    .up = rl_up,
    .retry_in = rl_retry_in,
    .loop_open = msb__rl_redis_loop_open,
    .loop_close = msb__rl_redis_loop_close,
    .take_async = msb__rl_redis_take_async,
    .loop_up = msb__rl_redis_loop_up,
};

MSB_INTERNAL const void *msb__ratelimit_redis_driver(void);

const void *msb__ratelimit_redis_driver(void)
{
    return &driver;
}
