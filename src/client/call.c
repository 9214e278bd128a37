/*
 * A call from start to end, on either path: the request checked and its URL made absolute, the
 * deadline fixed, the bulkhead place taken and given back, and the final result handed over.
 */
#include <stdio.h>
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/str.h"

static bool idempotent_method(const char *m)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < MSB_ARRAY_LEN(safe); i++) {
        if (strcmp(m, safe[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* "scheme://…": absolute (the URL check then says whether the scheme is one we speak). */
static bool is_absolute(const char *url)
{
    const char *sep = strstr(url, "://");
    return sep != NULL && sep > url && sep - url < (ptrdiff_t)strcspn(url, "/?#");
}

/* The absolute URL of the request, new in c->url. */
static msb_status_t make_url(msb__call_t *c, const char *url, msb_error_t *err)
{
    msb__buf_t b = MSB__BUF_INIT;
    if (url != NULL && is_absolute(url)) {
        msb__buf_puts(&b, url);
    } else if (c->up->base_url == NULL) {
        return msb__err(err, MSB_EINVAL,
                        "client: request URL \"%.60s\" is relative and upstream \"%s\" has no "
                        "base_url",
                        url != NULL ? url : "", c->up->name);
    } else if (url != NULL && url[0] != '\0' && url[0] != '/' && url[0] != '?') {
        return msb__err(err, MSB_EINVAL,
                        "client: request URL \"%.60s\" must be absolute or start with '/' or '?'",
                        url);
    } else {
        msb__buf_puts(&b, c->up->base_url);
        msb__buf_puts(&b, url != NULL ? url : "");
    }
    if (msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return msb__err_nomem(err, "a request URL");
    }
    c->url = msb__buf_steal(&b, NULL);
    msb__url_t u;
    msb_status_t rc = msb__client_url_parse(c->url, &u, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: request URL: ");
    }
    msb__buf_t k = MSB__BUF_INIT;
    msb__client_url_redact(c->url, &k);
    msb__buf_putc(&k, '\0');
    size_t host_at = k.len;
    msb__buf_append(&k, u.host, u.host_len);
    msb__buf_putc(&k, '\0');
    size_t key_at = k.len;
    msb__buf_puts(&k, u.https ? "https://" : "http://");
    msb__buf_append(&k, u.host, u.host_len);
    msb__buf_printf(&k, ":%u", (unsigned)u.port);
    if (msb__buf_status(&k) != MSB_OK) {
        msb__buf_free(&k);
        return msb__err_nomem(err, "a request URL");
    }
    c->url_safe = msb__buf_steal(&k, NULL);
    c->server_address = c->url_safe + host_at;
    c->host_key = c->url_safe + key_at;
    c->server_port = u.port;
    return MSB_OK;
}

static msb_status_t check_headers(msb__call_t *c, const char *const *h, msb_error_t *err)
{
    size_t n = 0;
    while (h != NULL && h[n] != NULL) {
        msb_status_t rc = msb__client_header_check(h[n], "request header", err);
        if (rc != MSB_OK) {
            return rc;
        }
        if (msb__client_header_name_len(h[n]) == strlen("Idempotency-Key") &&
            msb__ascii_ieq(h[n], strlen("Idempotency-Key"), "Idempotency-Key")) {
            c->idempotent = true;
        }
        n++;
    }
    if (n + c->up->nheaders > MSB__CLIENT_MAX_HEADERS) {
        return msb__err(err, MSB_EINVAL, "client: %zu request headers (at most %d)", n,
                        MSB__CLIENT_MAX_HEADERS - (int)c->up->nheaders);
    }
    c->req_headers = h;
    c->nreq_headers = n;
    return MSB_OK;
}

/* Loop calls outlive the request: copy the method, header lines and body into one block. */
static msb_status_t copy_request(msb__call_t *c, msb_error_t *err)
{
    size_t need = strlen(c->method) + 1 + c->body_len + (c->nreq_headers + 1) * sizeof(char *);
    for (size_t i = 0; i < c->nreq_headers; i++) {
        need += strlen(c->req_headers[i]) + 1;
    }
    c->arena = msb__malloc(need);
    if (c->arena == NULL) {
        return msb__err_nomem(err, "a request");
    }
    const char **lines = (const char **)(void *)c->arena;
    char *p = c->arena + (c->nreq_headers + 1) * sizeof(char *);
    for (size_t i = 0; i < c->nreq_headers; i++) {
        size_t n = strlen(c->req_headers[i]) + 1;
        memcpy(p, c->req_headers[i], n);
        lines[i] = p;
        p += n;
    }
    lines[c->nreq_headers] = NULL;
    c->req_headers = lines;
    size_t mn = strlen(c->method) + 1;
    memcpy(p, c->method, mn);
    c->method = p;
    p += mn;
    if (c->body != NULL) {
        memcpy(p, c->body, c->body_len);
        c->body = p;
    }
    return MSB_OK;
}

static msb_status_t read_times(msb__call_t *c, const msb_client_req_t *r, msb_error_t *err)
{
    uint64_t attempt = r->attempt_timeout_ns;
    if (attempt != 0 && attempt < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "client: request attempt_timeout_ns %llu is under 1 ms",
                        (unsigned long long)attempt);
    }
    c->attempt_timeout_ns = attempt != 0 ? attempt : c->up->timeout_ns;
    c->start_ns = msb_clock_monotonic_ns(c->client->clock);
    uint64_t d = r->deadline_ns;
    uint64_t t = r->timeout_ns != 0 ? r->timeout_ns : c->up->call_timeout_ns;
    if (t != 0 && (d == 0 || c->start_ns + t < d)) {
        d = c->start_ns + t;
    }
    c->deadline_ns = d;
    return MSB_OK;
}

static msb_status_t read_request(msb__call_t *c, const msb_client_req_t *r, msb_error_t *err)
{
    c->method = r->method != NULL ? r->method : "GET";
    if (!msb__client_token(c->method, strlen(c->method), 32)) {
        return msb__err(err, MSB_EINVAL, "client: request method \"%.32s\" is not an HTTP token",
                        c->method);
    }
    msb_status_t rc = make_url(c, r->url, err);
    if (rc == MSB_OK) {
        c->idempotent = idempotent_method(c->method) || r->idempotent;
        rc = check_headers(c, r->headers, err);
    }
    if (rc == MSB_OK) {
        rc = read_times(c, r, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    c->body = r->body;
    c->body_len = r->body_len;
    if (c->body == NULL && c->body_len != 0) {
        return msb__err(err, MSB_EINVAL, "client: request body is NULL but body_len is %zu",
                        c->body_len);
    }
    uint64_t max = r->max_response_bytes;
    c->max_response = max != 0 ? max : c->up->max_response;
    c->retries = c->up->retry != NULL && !r->no_retry;
    const msb_trace_ctx_t *p = r->trace_parent;
    if (p != NULL) {
        c->parent = *p;
        c->has_parent = msb_trace_ctx_valid(p);
    } else {
        c->has_parent = msb_trace_current_ctx(&c->parent);
    }
    c->on_body = r->on_body;
    c->body_user = r->body_user;
    c->cancel = r->cancel;
    return MSB_OK;
}

msb_status_t msb__call_init(msb__call_t *c, msb_client_t *client, const msb_client_req_t *req,
                            bool copy, msb_error_t *err)
{
    memset(c, 0, sizeof(*c));
    c->client = client;
    msb__buf_init(&c->extra, 0);
    if (req == NULL) {
        return msb__err(err, MSB_EINVAL, "client: request must not be NULL");
    }
    /* the caller's struct may be older (shorter): fields past its size keep their defaults */
    msb_client_req_t r = MSB_CLIENT_REQ_INIT;
    memcpy(&r, req, req->size < sizeof(r) ? req->size : sizeof(r));
    c->up = r.upstream != NULL ? r.upstream : client->defaults;
    msb_status_t rc = read_request(c, &r, err);
    if (rc == MSB_OK && copy) {
        rc = copy_request(c, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    size_t nlines = c->nreq_headers + c->up->nheaders + MSB__CLIENT_EXTRA_LINES + 1;
    c->lines = msb__calloc(nlines, sizeof(char *));
    c->resp = msb__client_response_new();
    if (c->lines == NULL || c->resp == NULL) {
        return msb__err_nomem(err, "a request");
    }
    atomic_fetch_add(&c->up->n.calls, 1);
    atomic_fetch_add(&c->up->n.in_flight, 1);
    msb__client_metrics_in_flight(c->up, 1);
    if (c->retries) {
        msb_retry_begin(c->up->retry, &c->rcall);
    }
    c->status = MSB_EINTERNAL; /* until an attempt ends or a refusal sets it */
    return MSB_OK;
}

void msb__call_cleanup(msb__call_t *c)
{
    msb__buf_free(&c->extra);
    msb_client_response_free(c->resp);
    msb__free(c->lines);
    msb__free(c->url_safe);
    msb__free(c->url);
    msb__free(c->arena);
    c->resp = NULL;
    c->lines = NULL;
    c->url = NULL;
    c->url_safe = NULL;
    c->arena = NULL;
}

bool msb__call_expired(msb__call_t *c)
{
    if (c->deadline_ns == 0) {
        return false;
    }
    uint64_t now = msb_clock_monotonic_ns(c->client->clock);
    if (now < c->deadline_ns) {
        return false;
    }
    if (c->attempt == 0) {
        atomic_fetch_add(&c->up->n.timeouts, 1);
        c->status = msb__err(&c->err, MSB_ETIMEDOUT,
                             "%s %.120s: deadline exceeded before the first attempt (%llu ms "
                             "after the call started)",
                             c->method, c->url_safe,
                             (unsigned long long)((now - c->start_ns) / (uint64_t)MSB_MSEC));
    } else if (c->status != MSB_OK) {
        msb__err_prefix(&c->err, c->status, "deadline exceeded, no retry: ");
    }
    return true;
}

bool msb__call_try_place(msb__call_t *c)
{
    if (c->up->bulkhead == NULL || c->has_place) {
        return true;
    }
    if (msb_bulkhead_try_acquire(c->up->bulkhead) != MSB_OK) {
        return false;
    }
    c->has_place = true;
    return true;
}

void msb__call_release_place(msb__call_t *c)
{
    if (c->has_place) {
        msb_bulkhead_release(c->up->bulkhead);
        c->has_place = false;
    }
}

void msb__call_place_refused(msb__call_t *c, msb_status_t why, uint64_t waited_ns)
{
    atomic_fetch_add(&c->up->n.bulkhead_rejected, 1);
    msb__client_metrics_reject(c->up, MSB__REJECT_BULKHEAD);
    msb_bulkhead_stats_t s = {.size = sizeof(s)};
    msb_bulkhead_stats(c->up->bulkhead, &s);
    if (c->attempt == 0) {
        char waited[48] = "";
        if (why == MSB_ETIMEDOUT) {
            snprintf(waited, sizeof(waited), ", still full after %llu ms",
                     (unsigned long long)(waited_ns / (uint64_t)MSB_MSEC));
        }
        c->status = msb__err(&c->err, MSB_EREJECTED,
                             "%s %.120s: bulkhead of upstream \"%s\" is full (all %u places "
                             "taken%s)",
                             c->method, c->url_safe, c->up->name, s.max_concurrent, waited);
    } else if (c->status != MSB_OK) {
        msb__err_prefix(&c->err, c->status, "bulkhead full, no retry: ");
    }
}

msb_status_t msb__call_finish(msb__call_t *c, msb_client_response_t **resp, msb_error_t *err)
{
    msb_client_upstream_t *up = c->up;
    atomic_fetch_sub(&up->n.in_flight, 1);
    if (c->status == MSB_OK && c->on_body != NULL && !c->streaming && c->resp->body.len > 0) {
        /* kept in case of a retry that did not happen: hand it over now */
        int stop = c->on_body(c->resp, c->resp->body.data, c->resp->body.len, c->body_user);
        msb__buf_reset(&c->resp->body);
        if (stop != 0) {
            c->status = msb__err(&c->err, MSB_ECANCELED,
                                 "%s %.120s: the body callback stopped the transfer", c->method,
                                 c->url_safe);
        }
    }
    msb__client_metrics_in_flight(up, -1);
    uint64_t now = msb_clock_monotonic_ns(c->client->clock);
    msb__client_metrics_call(c, c->status, c->status == MSB_OK ? c->resp->status : 0,
                             (double)(now - c->start_ns) / 1e9);
    if (c->status == MSB_OK) {
        atomic_fetch_add(&up->n.responses, 1);
        *resp = c->resp;
        c->resp = NULL;
        return MSB_OK;
    }
    atomic_fetch_add(&up->n.errors, 1);
    *resp = NULL;
    if (err != NULL) {
        *err = c->err;
    }
    return c->status;
}
