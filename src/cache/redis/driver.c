/*
 * The cache's Redis backend, blocking half: GET/SET/DEL/PUBLISH pipelined on a pooled
 * connection (all commands of a call written at once, then every reply read), and the driver
 * table. Values are stored with PX (milliseconds) so Redis drops them itself.
 */
#include <stdio.h>
#include <string.h>

#include "cache/redis/internal.h"
#include "core/alloc.h"
#include "core/error.h"

enum { CMD_GET, CMD_SET, CMD_DEL, CMD_PUB };

typedef struct cmd {
    int kind;
    size_t index; /* the caller's key index */
    int argc;
    const char *argv[5];
    size_t lens[5];
    size_t key_off; /* offset of the prefixed key in the batch's key buffer */
    char px[24];
} cmd_t;

typedef struct batch {
    cmd_t *cmds;
    size_t n;
    char *keys; /* every prefixed key, back to back */
    size_t keys_len;
    size_t keys_cap;
    msb__cache_bytes_cb cb;
    void *user;
} batch_t;

msb_status_t msb__cache_redis_key(const msb__cache_redis_t *r, const void *key, size_t key_len,
                                  char **buf, size_t *cap, size_t *out_len)
{
    size_t need = r->prefix_len + key_len;
    if (need > *cap) {
        char *nb = msb__realloc(*buf, need);
        if (nb == NULL) {
            return MSB_ENOMEM;
        }
        *buf = nb;
        *cap = need;
    }
    memcpy(*buf, r->prefix, r->prefix_len);
    memcpy(*buf + r->prefix_len, key, key_len);
    *out_len = need;
    return MSB_OK;
}

static msb_status_t add_key(const msb__cache_redis_t *r, batch_t *b, cmd_t *c, const void *key,
                            size_t key_len)
{
    size_t need = b->keys_len + r->prefix_len + key_len;
    if (need > b->keys_cap || b->keys == NULL) {
        size_t cap = need > 2 * b->keys_cap ? need : 2 * b->keys_cap;
        cap = cap > 0 ? cap : 64;
        char *nb = msb__realloc(b->keys, cap);
        if (nb == NULL) {
            return MSB_ENOMEM;
        }
        b->keys = nb;
        b->keys_cap = cap;
    }
    c->key_off = b->keys_len;
    memcpy(b->keys + b->keys_len, r->prefix, r->prefix_len);
    memcpy(b->keys + b->keys_len + r->prefix_len, key, key_len);
    b->keys_len = need;
    c->lens[1] = r->prefix_len + key_len;
    return MSB_OK;
}

static void add_publish(const msb__cache_redis_t *r, cmd_t *c, size_t index, const void *msg,
                        size_t msg_len)
{
    c->kind = CMD_PUB;
    c->index = index;
    c->argc = 3;
    c->argv[0] = "PUBLISH";
    c->lens[0] = 7;
    c->argv[1] = r->channel;
    c->lens[1] = r->channel_len;
    c->argv[2] = msg;
    c->lens[2] = msg_len;
    c->key_off = SIZE_MAX;
}

/* Reply of one command: MSB_OK, or the error reply's status with its message. */
static msb_status_t on_reply(const msb__cache_redis_t *r, batch_t *b, const cmd_t *c,
                             const redisReply *rep, msb_error_t *err)
{
    if (rep->type == REDIS_REPLY_ERROR) {
        return msb__err(err, msb__redis_error_status(rep), "redis %s: %.160s", r->where, rep->str);
    }
    if (c->kind != CMD_GET || b->cb == NULL) {
        return MSB_OK;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        b->cb(b->user, c->index, rep->str, rep->len);
    } else if (rep->type == REDIS_REPLY_NIL) {
        b->cb(b->user, c->index, NULL, 0);
    } else {
        return msb__err(err, MSB_EPROTO, "redis %s: GET answered type %d", r->where, rep->type);
    }
    return MSB_OK;
}

/* Write every command, then read every reply; the first failure wins. */
static msb_status_t exec(msb__cache_redis_t *r, batch_t *b, msb_error_t *err)
{
    redisContext *ctx = NULL;
    msb_status_t rc = msb__redis_pool_get(r->pool, &ctx, err);
    if (rc != MSB_OK) {
        return rc;
    }
    bool broken = false;
    for (size_t i = 0; i < b->n; i++) {
        cmd_t *c = &b->cmds[i];
        if (c->key_off != SIZE_MAX) {
            c->argv[1] = b->keys + c->key_off;
        }
        if (redisAppendCommandArgv(ctx, c->argc, c->argv, c->lens) != REDIS_OK) {
            broken = true;
            rc = msb__err(err, MSB_ENOMEM, "redis %s: out of memory queueing a command", r->where);
            break;
        }
    }
    msb_error_t why = MSB_ERROR_INIT;
    for (size_t i = 0; i < b->n && !broken; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(ctx, (void **)&rep) != REDIS_OK || rep == NULL) {
            broken = true;
            rc = msb__err(&why, ctx->err == REDIS_ERR_OOM ? MSB_ENOMEM : MSB_EUNAVAIL,
                          "redis %s: %s", r->where,
                          ctx->errstr[0] != '\0' ? ctx->errstr : "connection lost");
            if (err != NULL) {
                *err = why;
            }
            break;
        }
        msb_status_t st = on_reply(r, b, &b->cmds[i], rep, rc == MSB_OK ? err : NULL);
        if (rc == MSB_OK) {
            rc = st;
        }
        freeReplyObject(rep);
    }
    msb__redis_pool_put(r->pool, ctx, broken, broken ? &why : NULL);
    return rc;
}

static msb_status_t batch_alloc(batch_t *b, size_t n, msb_error_t *err)
{
    memset(b, 0, sizeof(*b));
    b->cmds = msb__calloc(n > 0 ? n : 1, sizeof(cmd_t));
    if (b->cmds == NULL) {
        return msb__err_nomem(err, "a Redis pipeline");
    }
    return MSB_OK;
}

static void batch_free(batch_t *b)
{
    msb__free(b->cmds);
    msb__free(b->keys);
}

static msb_status_t r_get(void *h, size_t n, const void *const *keys, const size_t *lens,
                          msb__cache_bytes_cb cb, void *user, msb_error_t *err)
{
    msb__cache_redis_t *r = h;
    batch_t b;
    msb_status_t rc = batch_alloc(&b, n, err);
    if (rc != MSB_OK) {
        return rc;
    }
    b.cb = cb;
    b.user = user;
    for (size_t i = 0; i < n && rc == MSB_OK; i++) {
        cmd_t *c = &b.cmds[b.n++];
        c->kind = CMD_GET;
        c->index = i;
        c->argc = 2;
        c->argv[0] = "GET";
        c->lens[0] = 3;
        rc = add_key(r, &b, c, keys[i], lens[i]);
    }
    rc = rc == MSB_OK ? exec(r, &b, err) : msb__err_nomem(err, "Redis keys");
    batch_free(&b);
    return rc;
}

static msb_status_t r_set(void *h, size_t n, const void *const *keys, const size_t *key_lens,
                          const void *const *values, const size_t *value_lens, const int64_t *px_ms,
                          const void *const *msgs, const size_t *msg_lens, msb_error_t *err)
{
    msb__cache_redis_t *r = h;
    batch_t b;
    msb_status_t rc = batch_alloc(&b, 2 * n, err);
    for (size_t i = 0; i < n && rc == MSB_OK; i++) {
        cmd_t *c = &b.cmds[b.n++];
        c->kind = CMD_SET;
        c->index = i;
        c->argc = 3;
        c->argv[0] = "SET";
        c->lens[0] = 3;
        c->argv[2] = values[i];
        c->lens[2] = value_lens[i];
        if (px_ms[i] > 0) {
            c->argc = 5;
            c->argv[3] = "PX";
            c->lens[3] = 2;
            c->lens[4] = (size_t)snprintf(c->px, sizeof(c->px), "%lld", (long long)px_ms[i]);
            c->argv[4] = c->px;
        }
        if (add_key(r, &b, c, keys[i], key_lens[i]) != MSB_OK) {
            rc = msb__err_nomem(err, "Redis keys");
        }
        if (msgs != NULL && msgs[i] != NULL) {
            add_publish(r, &b.cmds[b.n++], i, msgs[i], msg_lens[i]);
        }
    }
    if (rc == MSB_OK) {
        rc = exec(r, &b, err);
    }
    batch_free(&b);
    return rc;
}

static msb_status_t r_del(void *h, const void *key, size_t key_len, const void *msg, size_t msg_len,
                          msb_error_t *err)
{
    msb__cache_redis_t *r = h;
    batch_t b;
    msb_status_t rc = batch_alloc(&b, 2, err);
    if (rc != MSB_OK) {
        return rc;
    }
    cmd_t *c = &b.cmds[b.n++];
    c->kind = CMD_DEL;
    c->argc = 2;
    c->argv[0] = "DEL";
    c->lens[0] = 3;
    rc = add_key(r, &b, c, key, key_len);
    if (msg != NULL) {
        add_publish(r, &b.cmds[b.n++], 0, msg, msg_len);
    }
    rc = rc == MSB_OK ? exec(r, &b, err) : msb__err_nomem(err, "a Redis key");
    batch_free(&b);
    return rc;
}

static msb_status_t r_publish(void *h, const void *msg, size_t msg_len, msb_error_t *err)
{
    msb__cache_redis_t *r = h;
    batch_t b;
    msb_status_t rc = batch_alloc(&b, 1, err);
    if (rc != MSB_OK) {
        return rc;
    }
    add_publish(r, &b.cmds[b.n++], 0, msg, msg_len);
    rc = exec(r, &b, err);
    batch_free(&b);
    return rc;
}

static msb_status_t r_open(const msb__cache_backend_cfg_t *cfg, void **out, msb_error_t *err)
{
    size_t plen = strlen(cfg->prefix);
    size_t clen = strlen(cfg->channel);
    if (plen >= MSB__CACHE_PREFIX_MAX || clen >= MSB__CACHE_PREFIX_MAX) {
        return msb__err(err, MSB_EINVAL, "cache: prefix or channel longer than %d bytes",
                        MSB__CACHE_PREFIX_MAX - 1);
    }
    msb__cache_redis_t *r = msb__calloc(1, sizeof(*r));
    if (r == NULL) {
        return msb__err_nomem(err, "a Redis cache");
    }
    msb_status_t rc = msb__redis_url_parse(cfg->url, &r->url, err);
    if (rc != MSB_OK) {
        msb__free(r);
        return msb__err_prefix(err, rc, "cache: url: ");
    }
    msb__redis_url_where(&r->url, r->where, sizeof(r->where));
    memcpy(r->prefix, cfg->prefix, plen);
    r->prefix_len = plen;
    memcpy(r->channel, cfg->channel, clen);
    r->channel_len = clen;
    r->timeouts.connect_ns = cfg->connect_timeout_ns;
    r->timeouts.command_ns = cfg->timeout_ns;
    msb__redis_pool_opts_t po = {
        .url = &r->url,
        .timeouts = r->timeouts,
        .size = cfg->pool_size,
        .backoff_min_ns = MSB__CACHE_BACKOFF_MIN,
        .backoff_max_ns = MSB__CACHE_BACKOFF_MAX,
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

static void r_close(void *h)
{
    msb__cache_redis_t *r = h;
    if (r != NULL) {
        msb__redis_pool_free(r->pool);
        msb__free(r);
    }
}

static const msb__cache_driver_t driver = {
    .abi = MSB__CACHE_DRIVER_ABI,
    .open = r_open,
    .close = r_close,
    .get = r_get,
    .set = r_set,
    .del = r_del,
    .publish = r_publish,
    .subscribe = msb__cache_redis_subscribe,
    .unsubscribe = msb__cache_redis_unsubscribe,
    .loop_open = msb__cache_redis_loop_open,
    .loop_close = msb__cache_redis_loop_close,
    .aget = msb__cache_redis_aget,
    .aset = msb__cache_redis_aset,
    .adel = msb__cache_redis_adel,
};

MSB_INTERNAL const void *msb__cache_redis_driver(void);

const void *msb__cache_redis_driver(void)
{
    return &driver;
}
