/* Response headers, msb_http_respond(), and serializing a response into the output buffer. */
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "http/chars.h"
#include "http/internal.h"

MSB_INTERNAL void msb__http_run_response(msb_http_req_t *req);
MSB_INTERNAL size_t msb__http_status_line(int status, char *buf);
MSB_INTERNAL bool msb__http_answered_late(msb_http_req_t *req, msb_status_t *rc);

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 256) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!msb__is_tchar((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static bool valid_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!msb__is_value((unsigned char)s[i])) {
            return false;
        }
    }
    return n == 0 || (!msb__is_ows((unsigned char)s[0]) && !msb__is_ows((unsigned char)s[n - 1]));
}

static bool reserved_name(const char *s, size_t n)
{
    return msb__http_ieq(s, n, "content-length") || msb__http_ieq(s, n, "transfer-encoding") ||
           msb__http_ieq(s, n, "connection") || msb__http_ieq(s, n, "date");
}

static msb__http_rh_t *slot(msb_http_req_t *req)
{
    if (req->hdrs == NULL) {
        req->hdrs = req->hinl;
        req->hcap = MSB__HTTP_RESP_INLINE;
    }
    if (req->nhdrs == req->hcap) {
        size_t cap = (size_t)req->hcap * 2;
        msb__http_rh_t *p = msb__arena_alloc(&req->conn->arena, cap * sizeof(*p));
        if (p == NULL) {
            return NULL;
        }
        memcpy(p, req->hdrs, req->nhdrs * sizeof(*p));
        req->hdrs = p;
        req->hcap = (uint32_t)cap;
    }
    return &req->hdrs[req->nhdrs++];
}

msb_status_t msb__http_resp_header_static(msb_http_req_t *req, const char *name, size_t nlen,
                                          const char *value, size_t vlen)
{
    msb__http_rh_t *h = slot(req);
    if (h == NULL) {
        return MSB_ENOMEM;
    }
    h->name = name;
    h->name_len = (uint32_t)nlen;
    h->value = value;
    h->value_len = (uint32_t)vlen;
    return MSB_OK;
}

msb_status_t msb__http_resp_header_copy(msb_http_req_t *req, const char *name, size_t nlen,
                                        const char *value, size_t vlen)
{
    char *v = msb__arena_strndup(&req->conn->arena, value, vlen);
    if (v == NULL) {
        return MSB_ENOMEM;
    }
    return msb__http_resp_header_static(req, name, nlen, v, vlen);
}

static msb_status_t header_add(msb_http_req_t *req, const char *name, const char *value)
{
    if (req == NULL || name == NULL || value == NULL) {
        return MSB_EINVAL;
    }
    size_t nlen = strlen(name);
    size_t vlen = strlen(value);
    if (!valid_name(name, nlen) || !valid_value(value, vlen) || reserved_name(name, nlen)) {
        return MSB_EINVAL;
    }
    if (req->resp == MSB__RESP_STREAM || req->resp == MSB__RESP_DONE) {
        return MSB_ECLOSED;
    }
    char *n = msb__arena_strndup(&req->conn->arena, name, nlen);
    if (n == NULL) {
        return MSB_ENOMEM;
    }
    return msb__http_resp_header_copy(req, n, nlen, value, vlen);
}

msb_status_t msb_http_resp_header_add(msb_http_req_t *req, const char *name, const char *value)
{
    return header_add(req, name, value);
}

void msb_http_resp_header_remove(msb_http_req_t *req, const char *name)
{
    size_t nlen = strlen(name);
    uint32_t k = 0;
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        const msb__http_rh_t *h = &req->hdrs[i];
        if (h->name_len == nlen && strncasecmp(h->name, name, nlen) == 0) {
            continue;
        }
        req->hdrs[k++] = req->hdrs[i];
    }
    req->nhdrs = k;
}

msb_status_t msb_http_resp_header_set(msb_http_req_t *req, const char *name, const char *value)
{
    if (req == NULL || name == NULL || value == NULL) {
        return MSB_EINVAL;
    }
    size_t nlen = strlen(name);
    if (!valid_name(name, nlen) || !valid_value(value, strlen(value)) ||
        reserved_name(name, nlen)) {
        return MSB_EINVAL;
    }
    msb_http_resp_header_remove(req, name);
    return header_add(req, name, value);
}

const char *msb_http_resp_header_get(const msb_http_req_t *req, const char *name)
{
    size_t nlen = strlen(name);
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        const msb__http_rh_t *h = &req->hdrs[i];
        if (h->name_len == nlen && strncasecmp(h->name, name, nlen) == 0) {
            return h->value;
        }
    }
    return NULL;
}

const char *msb_http_resp_content_type(const msb_http_req_t *req)
{
    return msb_http_resp_header_get(req, "Content-Type");
}

int msb_http_resp_status(const msb_http_req_t *req)
{
    return req->status;
}

const void *msb_http_resp_body(const msb_http_req_t *req, size_t *len)
{
    *len = req->rbody_len;
    return req->resp == MSB__RESP_HOOKS ? req->rbody : NULL;
}

void msb__http_resp_body_static(msb_http_req_t *req, const void *body, size_t len)
{
    req->rbody = body;
    req->rbody_len = len;
}

msb_status_t msb_http_resp_set_body(msb_http_req_t *req, const void *body, size_t len)
{
    if (req->resp != MSB__RESP_HOOKS || req->chunked_out) {
        return MSB_EINVAL;
    }
    char *copy = msb__arena_alloc(&req->conn->arena, len);
    if (copy == NULL) {
        return MSB_ENOMEM;
    }
    if (len > 0) {
        memcpy(copy, body, len);
    }
    msb__http_resp_body_static(req, copy, len);
    return MSB_OK;
}

static char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return put(p, tmp + i, sizeof(tmp) - i);
}

/* Write the status line, Date, headers and framing fields; then the body unless suppressed. */
MSB_INTERNAL bool msb__http_serialize(msb_http_req_t *req, bool stream);

bool msb__http_serialize(msb_http_req_t *req, bool stream)
{
    msb__http_conn_t *c = req->conn;
    int status = req->status;
    bool bodyless = status < 200 || status == 204 || status == 304;
    bool send_body = !bodyless && !req->head_only && !stream;
    size_t date_len;
    const char *date = msb__http_date(c->w, &date_len);
    size_t need = 64 + date_len + 48 + 2 + (send_body ? req->rbody_len : 0);
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        need += (size_t)req->hdrs[i].name_len + req->hdrs[i].value_len + 4;
    }
    char *start = msb__http_conn_wreserve(c, need);
    if (start == NULL) {
        return false;
    }
    char *p = start + msb__http_status_line(status, start);
    p = put(p, date, date_len);
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        const msb__http_rh_t *h = &req->hdrs[i];
        p = put(p, h->name, h->name_len);
        p = put(p, ": ", 2);
        p = put(p, h->value, h->value_len);
        p = put(p, "\r\n", 2);
    }
    if (stream && !bodyless && req->chunked_out) {
        p = put(p, "Transfer-Encoding: chunked\r\n", 28);
    } else if (!stream && status != 204 && !(status < 200) && status != 304) {
        p = put(p, "Content-Length: ", 16);
        p = put_u64(p, req->rbody_len);
        p = put(p, "\r\n", 2);
    }
    if (!c->keep_alive) {
        p = put(p, "Connection: close\r\n", 19);
    } else if (req->head.minor == 0) {
        p = put(p, "Connection: keep-alive\r\n", 24);
    }
    p = put(p, "\r\n", 2);
    if (send_body && req->rbody_len > 0) {
        p = put(p, req->rbody, req->rbody_len);
    }
    c->wlen += (size_t)(p - start);
    return true;
}

/* Common start of respond and stream_begin: checks, then the on_response hooks. */
MSB_INTERNAL msb_status_t msb__http_resp_begin(msb_http_req_t *req, int status,
                                               const char *content_type, const void *body,
                                               size_t len);

msb_status_t msb__http_resp_begin(msb_http_req_t *req, int status, const char *content_type,
                                  const void *body, size_t len)
{
    msb__http_conn_t *c = req->conn;
    if (status < 200 || status > 599) {
        return MSB_EINVAL;
    }
    if ((status == 204 || status == 304) && len > 0) {
        return MSB_EINVAL;
    }
    if (content_type != NULL) {
        size_t n = strlen(content_type);
        if (n == 0 || !valid_value(content_type, n)) {
            return MSB_EINVAL;
        }
        if (req->nhdrs > 0) {
            msb_http_resp_header_remove(req, "Content-Type");
        }
        /* no copy: the response is serialized before respond or stream_begin returns */
        if (msb__http_resp_header_static(req, "Content-Type", 12, content_type, n) != MSB_OK) {
            return MSB_ENOMEM;
        }
    }
    if (!req->early && !req->body_done && req->head.framing != MSB__BODY_NONE) {
        /* answered before the body was read: the rest of it must not be taken for a request */
        c->keep_alive = false;
        c->linger = true;
    }
    if (c->w->draining) {
        c->keep_alive = false;
    }
    req->status = status;
    req->rbody = body;
    req->rbody_len = len;
    req->resp = MSB__RESP_HOOKS;
    msb__http_run_response(req);
    return MSB_OK;
}

msb_status_t msb_http_respond(msb_http_req_t *req, int status, const char *content_type,
                              const void *body, size_t len)
{
    if (req == NULL || (body == NULL && len > 0)) {
        return MSB_EINVAL;
    }
    msb_status_t rc;
    if (msb__http_answered_late(req, &rc)) {
        return rc;
    }
    msb__http_conn_t *c = req->conn;
    msb__http_conn_hold(c);
    rc = msb__http_resp_begin(req, status, content_type, body, len);
    if (rc == MSB_OK) {
        if (!msb__http_serialize(req, false)) {
            msb__http_conn_close(c, MSB_ENOMEM);
            rc = MSB_ENOMEM;
        }
        msb__http_req_finish(req);
    }
    msb__http_conn_unhold(c);
    return rc;
}
