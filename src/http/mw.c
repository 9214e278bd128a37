/* Middleware objects (reference counted) and the chain: on_request in order, then the body. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/internal.h"

msb_status_t msb_http_mw_new(const msb_http_mw_ops_t *ops, void *user, msb_http_mw_t **out,
                             msb_error_t *err)
{
    if (ops == NULL || out == NULL || ops->size < offsetof(msb_http_mw_ops_t, on_request)) {
        return msb__err(err, MSB_EINVAL, "http middleware: NULL or short ops");
    }
    msb_http_mw_t *mw = msb__calloc(1, sizeof(*mw));
    if (mw == NULL) {
        return msb__err_nomem(err, "a middleware");
    }
    msb_http_mw_ops_t o = MSB_HTTP_MW_OPS_INIT;
    memcpy(&o, ops, ops->size < sizeof(o) ? ops->size : sizeof(o));
    o.size = sizeof(o);
    if (o.state_size > 65536) {
        msb__free(mw);
        return msb__err(err, MSB_EINVAL, "http middleware: state_size %zu over 64 KiB",
                        o.state_size);
    }
    mw->name = msb__strdup(o.name != NULL ? o.name : "middleware");
    if (mw->name == NULL) {
        msb__free(mw);
        return msb__err_nomem(err, "a middleware name");
    }
    o.name = mw->name;
    mw->ops = o;
    mw->user = user;
    atomic_init(&mw->refs, 1);
    *out = mw;
    return MSB_OK;
}

void msb_http_mw_free(msb_http_mw_t *mw)
{
    if (mw == NULL || atomic_fetch_sub(&mw->refs, 1) != 1) {
        return;
    }
    if (mw->ops.destroy != NULL) {
        mw->ops.destroy(mw->user);
    }
    msb__free(mw->name);
    msb__free(mw);
}

static void *state_of(msb_http_req_t *req, size_t i)
{
    const msb_http_group_t *g = req->group;
    if (g->chain[i]->ops.state_size == 0) {
        return NULL;
    }
    return req->mw_state + g->state_off[i];
}

void msb__http_chain_run(msb_http_req_t *req)
{
    msb_http_group_t *g = req->group;
    msb__http_conn_t *c = req->conn;
    while (req->mw_next < g->nchain) {
        size_t i = req->mw_next++;
        msb_http_mw_t *mw = g->chain[i];
        req->mw_ran = (uint32_t)(i + 1);
        if (mw->ops.on_request == NULL) {
            continue;
        }
        msb_http_mw_result_t r = mw->ops.on_request(req, state_of(req, i), mw->user);
        if (c->dead || req->resp != MSB__RESP_NONE) {
            return;
        }
        if (r == MSB_HTTP_PAUSE) {
            req->paused = true;
            req->owed = true;
            c->state = MSB__C_ACTIVE;
            return;
        }
        if (r != MSB_HTTP_NEXT) {
            msb__http_fail(req, 500, "a middleware stopped the request without answering");
            return;
        }
    }
    if (msb__http_body_start(req)) {
        msb__http_invoke(req);
    }
}

msb_status_t msb_http_mw_resume(msb_http_req_t *req)
{
    if (req == NULL || !req->paused) {
        return MSB_EINVAL;
    }
    req->paused = false;
    msb__http_conn_t *c = req->conn;
    if (c->state == MSB__C_CLOSED || req->aborted || req->resp != MSB__RESP_NONE) {
        msb_status_t rc;
        msb__http_answered_late(req, &rc); /* drops the owed state, frees a dead connection */
        return MSB_OK;
    }
    req->owed = false;
    msb__http_conn_hold(c);
    bool outer = !c->in_process;
    c->in_process = true;
    msb__http_chain_run(req);
    c->in_process = outer ? false : c->in_process;
    if (outer && c->state != MSB__C_CLOSED) {
        msb__http_conn_process(c);
        msb__http_conn_flush(c);
    }
    msb__http_conn_unhold(c);
    return MSB_OK;
}

void msb__http_run_complete(msb_http_req_t *req)
{
    msb_http_group_t *g = req->group;
    if (g == NULL) {
        return;
    }
    for (size_t i = req->mw_ran; i-- > 0;) {
        msb_http_mw_t *mw = g->chain[i];
        if (mw->ops.on_complete != NULL) {
            mw->ops.on_complete(req, state_of(req, i), mw->user);
        }
    }
    req->mw_ran = 0;
}

void msb__http_run_response(msb_http_req_t *req)
{
    msb_http_group_t *g = req->group;
    if (g == NULL) {
        return;
    }
    for (size_t i = req->mw_ran; i-- > 0;) {
        msb_http_mw_t *mw = g->chain[i];
        if (mw->ops.on_response != NULL) {
            mw->ops.on_response(req, state_of(req, i), mw->user);
        }
    }
}
