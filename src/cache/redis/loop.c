/*
 * The cache's Redis backend on an event loop: one asynchronous connection per loop handle
 * (src/redis/async.c). hiredis writes every command queued during a loop iteration in one go,
 * so concurrent requests are pipelined. A SET or DEL with an invalidation message sends a
 * PUBLISH right behind it and completes when both replies are in.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cache/redis/internal.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct areq areq_t;

typedef struct cache_loop {
    msb__cache_redis_t *r;
    msb__redis_async_t *conn;
    areq_t *spare; /* finished requests kept for reuse (no malloc per command) */
    unsigned nspare;
} cache_loop_t;

#define SPARE_MAX 1024

struct areq {
    msb__redis_req_t req; /* the GET, SET or DEL */
    msb__redis_req_t pub; /* the PUBLISH, when there is one */
    cache_loop_t *loop;
    msb__cache_bytes_cb on_bytes;
    msb__cache_adone_cb done;
    void *user;
    int outstanding;
    msb_status_t status;
    areq_t *next_spare;
    msb_error_t err;
};

msb_status_t msb__cache_redis_loop_open(void *h, struct event_base *base, void **out,
                                        msb_error_t *err)
{
    msb__cache_redis_t *r = h;
    cache_loop_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "a Redis cache loop");
    }
    l->r = r;
    msb__redis_async_opts_t o = {
        .url = &r->url,
        .timeouts = r->timeouts,
        .backoff_min_ns = MSB__CACHE_BACKOFF_MIN,
        .backoff_max_ns = MSB__CACHE_BACKOFF_MAX,
    };
    msb_status_t rc = msb__redis_async_new(base, &o, &l->conn, err);
    if (rc != MSB_OK) {
        msb__free(l);
        return rc;
    }
    *out = l;
    return MSB_OK;
}

void msb__cache_redis_loop_close(void *loop)
{
    cache_loop_t *l = loop;
    if (l != NULL) {
        msb__redis_async_free(l->conn);
        while (l->spare != NULL) {
            areq_t *q = l->spare;
            l->spare = q->next_spare;
            msb__free(q);
        }
        msb__free(l);
    }
}

static void areq_release(cache_loop_t *l, areq_t *q)
{
    if (l->nspare < SPARE_MAX) {
        q->next_spare = l->spare;
        l->spare = q;
        l->nspare++;
    } else {
        msb__free(q);
    }
}

/* Inside hiredis: read the reply only. */
static void reply_common(areq_t *q, const redisReply *rep, bool is_get)
{
    if (rep == NULL) {
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (q->status == MSB_OK) {
            q->status = msb__err(&q->err, msb__redis_error_status(rep), "redis %s: %.160s",
                                 q->loop->r->where, rep->str);
        }
        return;
    }
    if (!is_get) {
        return;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        q->on_bytes(q->user, 0, rep->str, rep->len);
    } else if (rep->type == REDIS_REPLY_NIL) {
        q->on_bytes(q->user, 0, NULL, 0);
    } else if (q->status == MSB_OK) {
        q->status = msb__err(&q->err, MSB_EPROTO, "redis %s: GET answered type %d",
                             q->loop->r->where, rep->type);
    }
}

static void on_main_reply(msb__redis_req_t *req, const redisReply *rep)
{
    areq_t *q = MSB_CONTAINER_OF(req, areq_t, req);
    reply_common(q, rep, q->on_bytes != NULL);
}

static void on_pub_reply(msb__redis_req_t *req, const redisReply *rep)
{
    reply_common(MSB_CONTAINER_OF(req, areq_t, pub), rep, false);
}

static void one_done(areq_t *q, msb_status_t status, const msb_error_t *err)
{
    if (status != MSB_OK && q->status == MSB_OK) {
        q->status = status;
        if (err != NULL) {
            q->err = *err;
        }
    }
    if (--q->outstanding > 0) {
        return;
    }
    cache_loop_t *l = q->loop;
    q->done(q->user, q->status, q->status == MSB_OK ? NULL : &q->err);
    areq_release(l, q);
}

static void on_main_done(msb__redis_req_t *req, msb_status_t status, const msb_error_t *err)
{
    one_done(MSB_CONTAINER_OF(req, areq_t, req), status, err);
}

static void on_pub_done(msb__redis_req_t *req, msb_status_t status, const msb_error_t *err)
{
    one_done(MSB_CONTAINER_OF(req, areq_t, pub), status, err);
}

static areq_t *areq_new(cache_loop_t *l, msb__cache_bytes_cb on_bytes, msb__cache_adone_cb done,
                        void *user)
{
    areq_t *q = l->spare;
    if (q != NULL) {
        l->spare = q->next_spare;
        l->nspare--;
        memset(q, 0, offsetof(areq_t, err));
        q->err.code = MSB_OK;
        q->err.message[0] = '\0';
    } else {
        q = msb__calloc(1, sizeof(*q));
    }
    if (q == NULL) {
        return NULL;
    }
    q->req.on_reply = on_main_reply;
    q->req.on_done = on_main_done;
    q->pub.on_reply = on_pub_reply;
    q->pub.on_done = on_pub_done;
    q->loop = l;
    q->on_bytes = on_bytes;
    q->done = done;
    q->user = user;
    return q;
}

/* A command in RESP: "*N\r\n" then "$len\r\narg\r\n" per argument, in `stack` when it fits
 * (else a new buffer, *heap). NULL: out of memory. */
static char *resp(int argc, const char **argv, const size_t *lens, char *stack, size_t cap,
                  char **heap, size_t *len)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++) {
        need += lens[i] + 24;
    }
    char *p = stack;
    *heap = NULL;
    if (need > cap) {
        *heap = msb__malloc(need);
        if (*heap == NULL) {
            return NULL;
        }
        p = *heap;
    }
    size_t n = 0;
    p[n++] = '*';
    p[n++] = (char)('0' + argc); /* at most 5 arguments */
    p[n++] = '\r';
    p[n++] = '\n';
    for (int i = 0; i < argc; i++) {
        char num[24];
        size_t k = sizeof(num);
        size_t v = lens[i];
        do {
            num[--k] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        p[n++] = '$';
        memcpy(p + n, num + k, sizeof(num) - k);
        n += sizeof(num) - k;
        p[n++] = '\r';
        p[n++] = '\n';
        memcpy(p + n, argv[i], lens[i]);
        n += lens[i];
        p[n++] = '\r';
        p[n++] = '\n';
    }
    *len = n;
    return p;
}

static msb_status_t send_one(cache_loop_t *l, msb__redis_req_t *req, int argc, const char **argv,
                             const size_t *lens, msb_error_t *err)
{
    char stack[1024];
    char *heap = NULL;
    size_t len = 0;
    const char *cmd = resp(argc, argv, lens, stack, sizeof(stack), &heap, &len);
    if (cmd == NULL) {
        return msb__err_nomem(err, "a Redis command");
    }
    msb_status_t rc = msb__redis_async_send_resp(l->conn, req, cmd, len, err);
    msb__free(heap);
    return rc;
}

/* Send the main command (and the PUBLISH); on failure nothing will run. */
static msb_status_t send_req(cache_loop_t *l, areq_t *q, int argc, const char **argv,
                             const size_t *lens, const void *msg, size_t msg_len, msb_error_t *err)
{
    msb_status_t rc = send_one(l, &q->req, argc, argv, lens, err);
    if (rc != MSB_OK) {
        areq_release(l, q);
        return rc;
    }
    q->outstanding = 1;
    if (msg != NULL) {
        const char *pargv[] = {"PUBLISH", l->r->channel, msg};
        size_t plens[] = {7, l->r->channel_len, msg_len};
        if (send_one(l, &q->pub, 3, pargv, plens, NULL) == MSB_OK) {
            q->outstanding = 2;
        } else {
            msb__err(&q->err, MSB_EUNAVAIL, "redis %s: cannot send the invalidation", l->r->where);
            q->status = MSB_EUNAVAIL;
        }
    }
    return MSB_OK;
}

/* prefix + key on the stack when short. */
typedef struct keybuf {
    char stack[512];
    char *heap;
    size_t cap;
    const char *p;
    size_t len;
} keybuf_t;

static msb_status_t keybuf_make(const msb__cache_redis_t *r, keybuf_t *k, const void *key,
                                size_t key_len, msb_error_t *err)
{
    k->heap = NULL;
    k->cap = 0;
    if (r->prefix_len + key_len <= sizeof(k->stack)) {
        memcpy(k->stack, r->prefix, r->prefix_len);
        memcpy(k->stack + r->prefix_len, key, key_len);
        k->p = k->stack;
        k->len = r->prefix_len + key_len;
        return MSB_OK;
    }
    if (msb__cache_redis_key(r, key, key_len, &k->heap, &k->cap, &k->len) != MSB_OK) {
        return msb__err_nomem(err, "a Redis key");
    }
    k->p = k->heap;
    return MSB_OK;
}

msb_status_t msb__cache_redis_aget(void *loop, const void *key, size_t key_len,
                                   msb__cache_bytes_cb on_bytes, msb__cache_adone_cb done,
                                   void *user, msb_error_t *err)
{
    cache_loop_t *l = loop;
    keybuf_t k;
    msb_status_t rc = keybuf_make(l->r, &k, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    areq_t *q = areq_new(l, on_bytes, done, user);
    if (q == NULL) {
        msb__free(k.heap);
        return msb__err_nomem(err, "a Redis request");
    }
    const char *argv[] = {"GET", k.p};
    size_t lens[] = {3, k.len};
    rc = send_req(l, q, 2, argv, lens, NULL, 0, err);
    msb__free(k.heap);
    return rc;
}

msb_status_t msb__cache_redis_aset(void *loop, const void *key, size_t key_len, const void *value,
                                   size_t value_len, int64_t px_ms, const void *msg, size_t msg_len,
                                   msb__cache_adone_cb done, void *user, msb_error_t *err)
{
    cache_loop_t *l = loop;
    keybuf_t k;
    msb_status_t rc = keybuf_make(l->r, &k, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    areq_t *q = areq_new(l, NULL, done, user);
    if (q == NULL) {
        msb__free(k.heap);
        return msb__err_nomem(err, "a Redis request");
    }
    char px[24];
    const char *argv[] = {"SET", k.p, value, "PX", px};
    size_t lens[] = {3, k.len, value_len, 2, 0};
    int argc = 3;
    if (px_ms > 0) {
        lens[4] = (size_t)snprintf(px, sizeof(px), "%lld", (long long)px_ms);
        argc = 5;
    }
    rc = send_req(l, q, argc, argv, lens, msg, msg_len, err);
    msb__free(k.heap);
    return rc;
}

msb_status_t msb__cache_redis_adel(void *loop, const void *key, size_t key_len, const void *msg,
                                   size_t msg_len, msb__cache_adone_cb done, void *user,
                                   msb_error_t *err)
{
    cache_loop_t *l = loop;
    keybuf_t k;
    msb_status_t rc = keybuf_make(l->r, &k, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    areq_t *q = areq_new(l, NULL, done, user);
    if (q == NULL) {
        msb__free(k.heap);
        return msb__err_nomem(err, "a Redis request");
    }
    const char *argv[] = {"DEL", k.p};
    size_t lens[] = {3, k.len};
    rc = send_req(l, q, 2, argv, lens, msg, msg_len, err);
    msb__free(k.heap);
    return rc;
}
