/*
 * How a request ends: answered (finish), abandoned because the connection closed (abort), or past
 * its handler deadline (timeout); and what happens to an answer that comes too late.
 *
 * A deferred handler, a streaming handler and a paused middleware "owe" the request an answer
 * (or a resume). The connection cannot be recycled while it is owed: if it closes meanwhile it is
 * kept, dead, until the late answer arrives, which is then dropped and frees it.
 */
#include "http/internal.h"

bool msb__http_answered_late(msb_http_req_t *req, msb_status_t *rc);
MSB_INTERNAL void msb__http_settle(msb__http_conn_t *c);

/* After an answer given outside the connection's own callbacks: go on with the connection. */
void msb__http_settle(msb__http_conn_t *c)
{
    if (c->state == MSB__C_CLOSED) {
        if (c->busy == 0 && !c->req.owed) {
            msb__http_conn_release(c); /* a dead connection waited for this answer */
        }
        return;
    }
    if (c->in_process) {
        return;
    }
    msb__http_conn_hold(c);
    msb__http_conn_process(c);
    msb__http_conn_flush(c);
    msb__http_conn_unhold(c);
}

bool msb__http_answered_late(msb_http_req_t *req, msb_status_t *rc)
{
    msb__http_conn_t *c = req->conn;
    *rc = MSB_OK;
    if (req->resp == MSB__RESP_NONE && !req->aborted && c->state != MSB__C_CLOSED) {
        return false;
    }
    if (req->resp == MSB__RESP_HOOKS || req->resp == MSB__RESP_STREAM) {
        *rc = MSB_EEXIST;
        return true;
    }
    if (req->owed) {
        /* the deferred handler answers after a timeout or an abort: drop the answer */
        req->owed = false;
        req->resp = MSB__RESP_DONE;
        msb__http_settle(c);
        return true;
    }
    if (req->resp == MSB__RESP_DONE) {
        *rc = MSB_EEXIST;
        return true;
    }
    req->resp = MSB__RESP_DONE; /* the connection died under a synchronous handler */
    return true;
}

void msb__http_req_finish(msb_http_req_t *req)
{
    msb__http_conn_t *c = req->conn;
    req->resp = MSB__RESP_DONE;
    if (!req->keep_owed) {
        req->owed = false;
    }
    if (req->counted) {
        msb__http_stat_add(&c->w->st_inflight, -1);
        req->counted = false;
    }
    msb__http_run_complete(req);
    msb__http_settle(c);
}

void msb__http_req_abort(msb_http_req_t *req, msb_status_t why)
{
    if (!req->parsed || req->resp == MSB__RESP_DONE || req->aborted) {
        return;
    }
    req->aborted = true;
    if (req->counted) {
        msb__http_stat_add(&req->loop->st_inflight, -1);
        req->counted = false;
    }
    msb__http_run_complete(req);
    msb_http_abort_fn fn = req->on_abort;
    req->on_abort = NULL;
    if (fn != NULL) {
        fn(req, why, req->abort_user);
    }
}

void msb__http_req_timeout(msb_http_req_t *req)
{
    if (req->resp != MSB__RESP_NONE) {
        return;
    }
    msb_http_abort_fn fn = req->on_abort;
    req->on_abort = NULL;
    if (fn != NULL) {
        fn(req, MSB_ETIMEDOUT, req->abort_user);
    }
    if (req->resp != MSB__RESP_NONE || req->conn->state == MSB__C_CLOSED) {
        return;
    }
    req->conn->keep_alive = false;
    req->keep_owed = true;
    msb__http_fail(req, req->group->timeout_status,
                   "the handler did not answer before its deadline");
}

msb_status_t msb_http_defer(msb_http_req_t *req, msb_http_abort_fn on_abort, void *user)
{
    if (req == NULL) {
        return MSB_EINVAL;
    }
    if (req->resp != MSB__RESP_NONE || req->deferred) {
        return MSB_EEXIST;
    }
    req->deferred = true;
    req->owed = true;
    req->on_abort = on_abort;
    req->abort_user = user;
    return MSB_OK;
}

bool msb_http_responded(const msb_http_req_t *req)
{
    return req->resp != MSB__RESP_NONE;
}
