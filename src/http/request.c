/* Request accessors: zero-copy views into the connection's read buffer, decoded on demand. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "core/utf8.h"
#include "http/internal.h"
#include "http/path.h"

const char *msb_http_req_method(const msb_http_req_t *req)
{
    return req->parsed ? req->base + req->head.method_off : "";
}

const char *msb_http_req_path(const msb_http_req_t *req)
{
    if (!req->parsed || req->head.form == MSB__FORM_AUTHORITY) {
        return "";
    }
    if (req->head.path_len == 0) {
        return "/";
    }
    return req->base + req->head.path_off; /* the parser NUL-terminated it at '?' or the end */
}

const char *msb_http_req_query(const msb_http_req_t *req)
{
    if (!req->parsed || !req->head.has_query) {
        return NULL;
    }
    return req->base + req->head.query_off;
}

const char *msb_http_req_query_param(msb_http_req_t *req, const char *name)
{
    const char *q = msb_http_req_query(req);
    if (q == NULL || name == NULL) {
        return NULL;
    }
    size_t qlen = req->head.query_len;
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i <= qlen) {
        size_t start = i;
        while (i < qlen && q[i] != '&') {
            i++;
        }
        const char *eq = memchr(q + start, '=', i - start);
        size_t klen = eq != NULL ? (size_t)(eq - (q + start)) : i - start;
        char key[256];
        long kd = klen < sizeof(key) ? msb__http_pct_decode(q + start, klen, key, true) : -1;
        if (kd == (long)nlen && memcmp(key, name, nlen) == 0) {
            const char *v = eq != NULL ? eq + 1 : q + i;
            size_t vlen = (size_t)((q + i) - v);
            char *out = msb_http_req_alloc(req, vlen + 1);
            if (out == NULL) {
                return NULL;
            }
            long d = msb__http_pct_decode(v, vlen, out, true);
            if (d < 0 || !msb__utf8_valid(out, (size_t)d) || memchr(out, '\0', (size_t)d)) {
                return NULL;
            }
            out[d] = '\0';
            return out;
        }
        i++;
    }
    return NULL;
}

const char *msb_http_req_route(const msb_http_req_t *req)
{
    return req->route != NULL ? req->route->pattern : NULL;
}

const char *msb_http_req_param(const msb_http_req_t *req, const char *name)
{
    const msb__http_route_t *rt = req->route;
    if (rt == NULL || name == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < rt->nparams; i++) {
        if (strcmp(rt->param_names[i], name) == 0) {
            return req->params[i];
        }
    }
    return NULL;
}

const char *msb_http_req_header(const msb_http_req_t *req, const char *name)
{
    if (!req->parsed || name == NULL) {
        return NULL;
    }
    size_t n = strlen(name);
    const msb__http_head_t *h = &req->head;
    for (uint32_t i = 0; i < h->nfields; i++) {
        const msb__http_field_t *f = &h->fields[i];
        if (f->name_len == n && strncasecmp(req->base + f->name_off, name, n) == 0) {
            return req->base + f->value_off;
        }
    }
    return NULL;
}

const msb__http_field_t *msb__http_req_field(const msb_http_req_t *req, uint16_t id)
{
    if (!req->parsed) {
        return NULL;
    }
    const msb__http_head_t *h = &req->head;
    for (uint32_t i = 0; i < h->nfields; i++) {
        if (h->fields[i].id == id) {
            return &h->fields[i];
        }
    }
    return NULL;
}

size_t msb_http_req_header_count(const msb_http_req_t *req)
{
    return req->parsed ? req->head.nfields : 0;
}

bool msb_http_req_header_at(const msb_http_req_t *req, size_t i, const char **name,
                            const char **value)
{
    if (!req->parsed || i >= req->head.nfields) {
        return false;
    }
    const msb__http_field_t *f = &req->head.fields[i];
    *name = req->base + f->name_off;
    *value = req->base + f->value_off;
    return true;
}

const void *msb_http_req_body(const msb_http_req_t *req, size_t *len)
{
    if (len != NULL) {
        *len = req->body_done ? req->body_len : 0;
    }
    return req->body_done && req->body_len > 0 ? req->body : NULL;
}

const char *msb_http_req_id(const msb_http_req_t *req)
{
    return req->id;
}

const char *msb_http_req_host(msb_http_req_t *req)
{
    if (!req->parsed) {
        return "";
    }
    const msb__http_head_t *h = &req->head;
    if (h->form == MSB__FORM_ABSOLUTE || h->form == MSB__FORM_AUTHORITY) {
        if (req->host == NULL) {
            req->host = msb__arena_strndup(&req->conn->arena, req->base + h->authority_off,
                                           h->authority_len);
        }
        return req->host != NULL ? req->host : "";
    }
    return h->host_index >= 0 ? req->base + h->fields[h->host_index].value_off : "";
}

const char *msb_http_req_peer_ip(msb_http_req_t *req)
{
    msb__http_conn_t *c = req->conn;
    if (c->peer_ip[0] != '\0') {
        return c->peer_ip;
    }
    const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer_ip,
                  sizeof(c->peer_ip));
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer_ip,
                  sizeof(c->peer_ip));
    }
    return c->peer_ip;
}

int msb_http_req_version_minor(const msb_http_req_t *req)
{
    return req->head.minor;
}

bool msb_http_req_is_tls(const msb_http_req_t *req)
{
    return req->conn->tls;
}

uint64_t msb_http_req_start_ns(const msb_http_req_t *req)
{
    return req->start_ns;
}

uint64_t msb_http_req_deadline_ns(const msb_http_req_t *req)
{
    return req->deadline_ns;
}

msb_http_loop_t *msb_http_req_loop(const msb_http_req_t *req)
{
    return req->loop;
}

void *msb_http_req_alloc(msb_http_req_t *req, size_t size)
{
    return msb__arena_alloc(&req->conn->arena, size);
}
