/*
 * Request bodies. A body already complete in the read buffer is used in place (a chunked one is
 * decoded in place: data only moves down over the chunk framing). Otherwise a Content-Length body
 * is read straight into a body buffer of exactly its size (never past it: pipelined bytes stay in
 * the socket), and a chunked body is read into the read buffer and decoded into the body buffer.
 * The read buffer never moves while a request is live.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "http/internal.h"

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static bool body_reserve(msb__http_conn_t *c, size_t need)
{
    if (c->body_cap >= need) {
        return true;
    }
    size_t cap = c->body_cap ? c->body_cap : 1024;
    while (cap < need) {
        cap *= 2;
    }
    char *p = msb__realloc(c->body_buf, cap);
    if (p == NULL) {
        return false;
    }
    c->body_buf = p;
    c->body_cap = cap;
    return true;
}

static msb__http_limits_t body_limits(const msb__http_conn_t *c)
{
    msb__http_limits_t lim = c->w->srv->lim;
    lim.max_body = c->req.body_limit;
    return lim;
}

static void body_complete(msb__http_conn_t *c, char *body, size_t len)
{
    msb_http_req_t *req = &c->req;
    req->body = body;
    req->body_len = len;
    req->body_done = true;
    c->state = MSB__C_ACTIVE;
    msb__http_conn_arm(c, MSB__T_NONE, 0);
}

static bool start_length(msb__http_conn_t *c, size_t have)
{
    msb_http_req_t *req = &c->req;
    uint32_t at = c->rpos + req->head.head_len;
    uint64_t cl = req->head.content_length;
    if (have >= cl) {
        c->next_msg = at + (uint32_t)cl;
        c->saved = (unsigned char)c->rbuf[c->next_msg];
        c->rbuf[c->next_msg] = '\0';
        body_complete(c, c->rbuf + at, (size_t)cl);
        return true;
    }
    if (!body_reserve(c, (size_t)cl + 1)) {
        msb__http_fail(req, 500, "out of memory for the request body");
        return false;
    }
    memcpy(c->body_buf, c->rbuf + at, have);
    req->body_len = have;
    c->rlen = at;
    c->next_msg = at;
    c->direct_body = true;
    return false;
}

static bool chunk_error(msb__http_conn_t *c, const msb__http_perr_t *e)
{
    msb__http_fail(&c->req, e->status, e->detail);
    return false;
}

static bool start_chunked(msb__http_conn_t *c, size_t have)
{
    msb_http_req_t *req = &c->req;
    uint32_t at = c->rpos + req->head.head_len;
    char *in = c->rbuf + at;
    msb__http_limits_t lim = body_limits(c);
    msb__http_perr_t e;
    size_t used = 0;
    size_t out = 0;
    msb__http_chunked_init(&c->chunked);
    int rc = msb__http_chunked_decode(&c->chunked, &lim, in, have, &used, in, &out, &e);
    if (rc == MSB__PARSE_ERROR) {
        return chunk_error(c, &e);
    }
    if (rc == MSB__PARSE_DONE) {
        c->next_msg = at + (uint32_t)used;
        in[out] = '\0'; /* inside consumed framing bytes: nothing to restore */
        body_complete(c, in, out);
        return true;
    }
    if (!body_reserve(c, out + 1)) {
        msb__http_fail(req, 500, "out of memory for the request body");
        return false;
    }
    memcpy(c->body_buf, in, out);
    req->body_len = out;
    memmove(in, in + used, have - used);
    c->rlen = at + (uint32_t)(have - used);
    c->chunked_body = true;
    return false;
}

bool msb__http_body_start(msb_http_req_t *req)
{
    msb__http_conn_t *c = req->conn;
    const msb__http_head_t *h = &req->head;
    if (h->framing == MSB__BODY_NONE) {
        c->next_msg = c->rpos + h->head_len;
        body_complete(c, NULL, 0);
        return true;
    }
    req->body_limit = req->group->max_body;
    if (h->framing == MSB__BODY_LENGTH && h->content_length > req->body_limit) {
        msb__http_fail(req, 413, "request body larger than the limit");
        return false;
    }
    size_t have = c->rlen - (c->rpos + h->head_len);
    if (h->expect_continue && have == 0) {
        char *p = msb__http_conn_wreserve(c, sizeof(continue_100) - 1);
        if (p == NULL) {
            msb__http_conn_close(c, MSB_ENOMEM);
            return false;
        }
        memcpy(p, continue_100, sizeof(continue_100) - 1);
        c->wlen += sizeof(continue_100) - 1;
        msb__http_conn_flush(c);
        if (c->state == MSB__C_CLOSED) {
            return false;
        }
    }
    bool done = h->framing == MSB__BODY_LENGTH ? start_length(c, have) : start_chunked(c, have);
    if (!done && req->resp == MSB__RESP_NONE && c->state != MSB__C_CLOSED) {
        c->state = MSB__C_BODY;
        msb__http_conn_arm(c, MSB__T_BODY, c->w->srv->o.body_timeout_ms);
    }
    return done;
}

static void feed_direct(msb__http_conn_t *c)
{
    msb_http_req_t *req = &c->req;
    size_t cl = (size_t)req->head.content_length;
    while (req->body_len < cl) {
        ssize_t n = msb__http_conn_recv(c, c->body_buf + req->body_len, cl - req->body_len);
        if (n > 0) {
            req->body_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            msb__http_conn_eof(c);
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            msb__http_conn_close(c, MSB_ECANCELED);
        }
        return;
    }
    c->body_buf[cl] = '\0';
    c->direct_body = false;
    body_complete(c, c->body_buf, cl);
}

static void feed_chunked(msb__http_conn_t *c)
{
    msb_http_req_t *req = &c->req;
    uint32_t at = c->rpos + req->head.head_len;
    char *in = c->rbuf + at;
    size_t in_len = c->rlen - at;
    if (in_len == 0) {
        return;
    }
    if (!body_reserve(c, req->body_len + in_len + 1)) {
        msb__http_fail(req, 500, "out of memory for the request body");
        return;
    }
    msb__http_limits_t lim = body_limits(c);
    msb__http_perr_t e;
    size_t used = 0;
    int rc = msb__http_chunked_decode(&c->chunked, &lim, in, in_len, &used, c->body_buf,
                                      &req->body_len, &e);
    memmove(in, in + used, in_len - used);
    c->rlen = at + (uint32_t)(in_len - used);
    if (rc == MSB__PARSE_ERROR) {
        chunk_error(c, &e);
        return;
    }
    if (rc == MSB__PARSE_DONE) {
        c->next_msg = at;
        c->chunked_body = false;
        c->body_buf[req->body_len] = '\0';
        body_complete(c, c->body_buf, req->body_len);
    }
}

void msb__http_body_feed(msb__http_conn_t *c)
{
    if (c->direct_body) {
        feed_direct(c);
    } else {
        feed_chunked(c);
    }
    if (c->state == MSB__C_ACTIVE && c->req.body_done && c->req.resp == MSB__RESP_NONE) {
        msb__http_invoke(&c->req);
    }
}
