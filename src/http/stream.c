/*
 * Streamed responses: the head goes out at once with Transfer-Encoding: chunked (an HTTP/1.0
 * peer gets a body delimited by the connection's close), then one chunk per write.
 */
#include <stdio.h>
#include <string.h>

#include "http/internal.h"

msb_status_t msb_http_stream_begin(msb_http_req_t *req, int status, const char *content_type)
{
    if (req == NULL) {
        return MSB_EINVAL;
    }
    msb_status_t rc;
    if (msb__http_answered_late(req, &rc)) {
        return rc;
    }
    msb__http_conn_t *c = req->conn;
    msb__http_conn_hold(c);
    if (req->head.minor == 0) {
        c->keep_alive = false; /* the end of the body is the end of the connection */
    } else {
        req->chunked_out = true;
    }
    rc = msb__http_resp_begin(req, status, content_type, NULL, 0);
    if (rc == MSB_OK) {
        req->resp = MSB__RESP_STREAM;
        req->owed = true;
        if (!msb__http_serialize(req, true)) {
            msb__http_conn_close(c, MSB_ENOMEM);
            rc = MSB_ENOMEM;
        } else {
            msb__http_conn_arm(c, MSB__T_NONE, 0);
            if (!c->in_process) {
                msb__http_conn_flush(c);
            }
        }
    } else {
        req->chunked_out = false;
    }
    msb__http_conn_unhold(c);
    return rc;
}

static bool bodyless(const msb_http_req_t *req)
{
    return req->head_only || req->status == 204 || req->status == 304;
}

msb_status_t msb_http_stream_write(msb_http_req_t *req, const void *data, size_t len)
{
    if (req == NULL || req->resp != MSB__RESP_STREAM || (data == NULL && len > 0)) {
        return MSB_EINVAL;
    }
    msb__http_conn_t *c = req->conn;
    if (c->state == MSB__C_CLOSED || req->aborted) {
        return MSB_ECLOSED;
    }
    if (len == 0 || bodyless(req)) {
        return MSB_OK;
    }
    char *p = msb__http_conn_wreserve(c, len + 24);
    if (p == NULL) {
        return MSB_ENOMEM;
    }
    size_t n = 0;
    if (req->chunked_out) {
        n = (size_t)snprintf(p, 24, "%zx\r\n", len);
    }
    msb__http_put(p + n, data, len);
    n += len;
    if (req->chunked_out) {
        msb__http_put(p + n, "\r\n", 2);
        n += 2;
    }
    c->wlen += n;
    if (!c->in_process) {
        msb__http_conn_hold(c);
        msb__http_conn_flush(c);
        msb__http_conn_unhold(c);
    }
    return MSB_OK;
}

msb_status_t msb_http_stream_end(msb_http_req_t *req)
{
    if (req == NULL || req->resp != MSB__RESP_STREAM) {
        return MSB_EINVAL;
    }
    msb__http_conn_t *c = req->conn;
    if (c->state == MSB__C_CLOSED || req->aborted) {
        req->owed = false;
        req->resp = MSB__RESP_DONE;
        msb__http_settle(c);
        return MSB_OK;
    }
    msb__http_conn_hold(c);
    if (req->chunked_out && !bodyless(req)) {
        char *p = msb__http_conn_wreserve(c, 5);
        if (p == NULL) {
            msb__http_conn_close(c, MSB_ENOMEM);
        } else {
            msb__http_put(p, "0\r\n\r\n", 5);
            c->wlen += 5;
        }
    }
    msb__http_req_finish(req);
    msb__http_conn_unhold(c);
    return MSB_OK;
}

size_t msb_http_stream_pending(const msb_http_req_t *req)
{
    return msb__http_conn_pending(req->conn);
}

void msb_http_stream_on_drain(msb_http_req_t *req, msb_http_drain_fn fn, void *user)
{
    req->on_drain = fn;
    req->drain_user = user;
    if (fn != NULL && req->resp == MSB__RESP_STREAM && msb__http_conn_pending(req->conn) == 0 &&
        !req->conn->in_process) {
        req->on_drain = NULL;
        fn(req, user);
    }
}
