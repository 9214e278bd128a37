/*
 * The rate limiter's Redis backend on an event loop: one asynchronous connection per loop
 * (src/redis/async.c), the same script as the blocking half. Completions run on the loop's
 * thread, from libmsb's own event, never inside hiredis.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ratelimit/redis/internal.h"

typedef struct rl_loop {
    msb__rl_redis_t *r;
    msb__redis_async_t *conn;
} rl_loop_t;

typedef struct rl_req {
    msb__redis_req_t req; /* first */
    rl_loop_t *loop;
    msb__rl_async_cb cb;
    void *user;
    uint64_t n;
    bool noscript; /* the server did not know the script: send EVAL */
    bool sent_eval;
    msb_status_t parsed; /* status of the reply's reading */
    msb__rl_reply_t reply;
    msb_error_t err;
    size_t key_len;
    unsigned char key[];
} rl_req_t;

msb_status_t msb__rl_redis_loop_open(void *h, struct event_base *base, void **out, msb_error_t *err)
{
    msb__rl_redis_t *r = h;
    rl_loop_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "a Redis rate limiter loop");
    }
    l->r = r;
    msb__redis_async_opts_t o = {
        .url = &r->url,
        .timeouts = {r->connect_timeout_ns, r->timeout_ns},
        .backoff_min_ns = r->backoff_min_ns,
        .backoff_max_ns = r->backoff_max_ns,
    };
    msb_status_t rc = msb__redis_async_new(base, &o, &l->conn, err);
    if (rc != MSB_OK) {
        msb__free(l);
        return rc;
    }
    *out = l;
    return MSB_OK;
}

void msb__rl_redis_loop_close(void *loop)
{
    rl_loop_t *l = loop;
    if (l != NULL) {
        msb__redis_async_free(l->conn);
        msb__free(l);
    }
}

bool msb__rl_redis_loop_up(void *loop)
{
    return msb__redis_async_up(((rl_loop_t *)loop)->conn);
}

/* Inside hiredis: only read the reply. */
static void on_reply(msb__redis_req_t *req, const redisReply *reply)
{
    rl_req_t *q = (rl_req_t *)req;
    if (reply == NULL) {
        return;
    }
    if (msb__rl_noscript(reply) && !q->sent_eval) {
        q->noscript = true;
        return;
    }
    q->parsed = msb__rl_script_reply(reply, q->loop->r->where, &q->reply, &q->err);
}

static msb_status_t send_script(rl_req_t *q, bool eval, msb_error_t *err)
{
    msb__rl_redis_t *r = q->loop->r;
    msb__rl_command_t cmd;
    msb__rl_command(&cmd, &r->args, r->prefix, r->prefix_len, q->key, q->key_len, q->n, eval);
    q->sent_eval = eval;
    return msb__redis_async_send(q->loop->conn, &q->req, 9, cmd.argv, cmd.lens, err);
}

/* On the loop, outside hiredis. */
static void on_done(msb__redis_req_t *req, msb_status_t status, const msb_error_t *err)
{
    rl_req_t *q = (rl_req_t *)req;
    if (status == MSB_OK && q->noscript) {
        q->noscript = false;
        if (send_script(q, true, &q->err) == MSB_OK) {
            return; /* on_done runs again with EVAL's reply */
        }
        status = MSB_EUNAVAIL;
        err = &q->err;
    } else if (status == MSB_OK && q->parsed != MSB_OK) {
        status = q->parsed;
        err = &q->err;
    }
    q->cb(status, status == MSB_OK ? &q->reply : NULL, err, q->key, q->key_len, q->user);
    msb__free(q);
}

msb_status_t msb__rl_redis_take_async(void *loop, const void *key, size_t len, uint64_t n,
                                      msb__rl_async_cb cb, void *user, msb_error_t *err)
{
    rl_loop_t *l = loop;
    rl_req_t *q = msb__calloc(1, sizeof(*q) + len);
    if (q == NULL) {
        return msb__err_nomem(err, "a Redis rate limit request");
    }
    q->req.on_reply = on_reply;
    q->req.on_done = on_done;
    q->loop = l;
    q->cb = cb;
    q->user = user;
    q->n = n;
    q->key_len = len;
    memcpy(q->key, key, len);
    if (send_script(q, false, NULL) != MSB_OK) {
        /* not connected: the caller still hears back, from the loop */
        msb__redis_async_complete(l->conn, &q->req, MSB_EUNAVAIL);
    }
    return MSB_OK;
}
