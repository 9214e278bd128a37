/* The distributed limiter on an event loop, core side: the policy for asynchronous calls. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ratelimit/distributed.h"

struct msb_ratelimit_redis_loop {
    msb_ratelimit_redis_t *rl;
    void *h;
};

/* One call in flight. It names the limiter, not the loop handle: a callback may free the loop
 * handle while other calls still complete (with MSB_ECANCELED). */
typedef struct call {
    msb_ratelimit_redis_t *rl;
    msb_ratelimit_redis_cb cb;
    void *user;
    uint64_t n;
} call_t;

msb_status_t msb_ratelimit_redis_loop_new(msb_ratelimit_redis_t *rl, struct event_base *base,
                                          msb_ratelimit_redis_loop_t **out, msb_error_t *err)
{
    if (rl == NULL || base == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: limiter, event base and out are required");
    }
    msb_ratelimit_redis_loop_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "a distributed rate limiter loop");
    }
    l->rl = rl;
    msb_status_t rc = rl->drv->loop_open(rl->h, base, &l->h, err);
    if (rc != MSB_OK) {
        msb__free(l);
        return rc;
    }
    *out = l;
    return MSB_OK;
}

void msb_ratelimit_redis_loop_free(msb_ratelimit_redis_loop_t *loop)
{
    if (loop != NULL) {
        void *h = loop->h;
        msb_ratelimit_redis_t *rl = loop->rl;
        msb__free(loop);
        rl->drv->loop_close(h);
    }
}

bool msb_ratelimit_redis_loop_up(msb_ratelimit_redis_loop_t *loop)
{
    return loop != NULL && loop->rl->drv->loop_up(loop->h);
}

static void on_backend(msb_status_t status, const msb__rl_reply_t *reply, const msb_error_t *err,
                       const void *key, size_t key_len, void *user)
{
    call_t *c = user;
    msb_ratelimit_redis_t *rl = c->rl;
    msb_ratelimit_result_t res;
    msb_status_t out;
    if (status == MSB_OK) {
        out = msb__rlr_fill_reply(rl, reply, &res);
    } else if (status == MSB_ECANCELED) {
        memset(&res, 0, sizeof(res));
        res.source = MSB_RATELIMIT_SOURCE_FAIL_CLOSED;
        res.limit = rl->p.burst;
        res.window_ns = msb__rl_window_ns(&rl->p);
        out = MSB_ECANCELED;
    } else {
        msb__rlr_record(rl, err);
        out = msb__rlr_policy(rl, key, key_len, c->n, rl->backoff_min_ns, &res);
    }
    msb_ratelimit_redis_cb cb = c->cb;
    void *cb_user = c->user;
    msb__free(c);
    cb(out, &res, cb_user);
}

msb_status_t msb_ratelimit_redis_take_async(msb_ratelimit_redis_loop_t *loop, const void *key,
                                            size_t key_len, uint64_t n, msb_ratelimit_redis_cb cb,
                                            void *user)
{
    if (loop == NULL || cb == NULL) {
        return MSB_EINVAL;
    }
    msb_ratelimit_redis_t *rl = loop->rl;
    msb_status_t rc = msb__rlr_check(rl, key, key_len, n, NULL);
    if (rc != MSB_OK) {
        return rc;
    }
    call_t *c = msb__malloc(sizeof(*c));
    if (c == NULL) {
        return MSB_ENOMEM;
    }
    *c = (call_t){rl, cb, user, n};
    rc = rl->drv->take_async(loop->h, key, key_len, n, on_backend, c, NULL);
    if (rc != MSB_OK) {
        msb__free(c);
    }
    return rc;
}
