/*
 * One attempt of a call, on either path: before it (breaker permit, client span, the header
 * lines with trace context and the remaining time, the timeouts) and after it (what happened,
 * the classifier's verdict, the breaker's record, the span's end, and whether to retry).
 */
#include <stdio.h>
#include <string.h>

#include "client/internal.h"
#include "core/error.h"
#include "core/str.h"
#include "msb/version.h"

/* ---- header lines --------------------------------------------------------------------------- */

typedef struct carrier_state {
    msb__call_t *c;
    size_t offs[MSB__CLIENT_EXTRA_LINES];
    size_t n;
} carrier_state_t;

static msb_status_t add_extra(carrier_state_t *st, const char *name, const char *value)
{
    if (st->n == MSB__CLIENT_EXTRA_LINES) {
        return MSB_ELIMIT;
    }
    st->offs[st->n++] = st->c->extra.len;
    msb__buf_puts(&st->c->extra, name);
    msb__buf_puts(&st->c->extra, ": ");
    msb__buf_puts(&st->c->extra, value);
    msb__buf_putc(&st->c->extra, '\0');
    return msb__buf_status(&st->c->extra);
}

static msb_status_t carrier_set(void *user, const char *name, const char *value)
{
    return add_extra(user, name, value);
}

/* Whether a line's name equals `name` (NUL-terminated, or the name of another line). */
static bool same_name(const char *line, const char *other)
{
    size_t a = msb__client_header_name_len(line);
    size_t b = msb__client_header_name_len(other);
    if (a != b) {
        return false;
    }
    for (size_t i = 0; i < a; i++) {
        if (msb__ascii_lower(line[i]) != msb__ascii_lower(other[i])) {
            return false;
        }
    }
    return true;
}

static bool in_lines(const char *line, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (same_name(line, lines[i])) {
            return true;
        }
    }
    return false;
}

static bool has_header(msb__call_t *c, const char *name)
{
    return in_lines(name, c->req_headers, c->nreq_headers) ||
           in_lines(name, (const char *const *)c->up->headers, c->up->nheaders);
}

/* Generated lines first (they win), then the request's, then the upstream's defaults. */
static msb_status_t build_lines(msb__call_t *c, uint64_t budget_ms)
{
    msb_client_t *cl = c->client;
    carrier_state_t st = {c, {0}, 0};
    msb__buf_reset(&c->extra);
    msb_status_t rc = MSB_OK;
    if (cl->user_agent != NULL && !has_header(c, "User-Agent")) {
        rc = add_extra(&st, "User-Agent", cl->user_agent);
    }
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(c->span, &ctx);
    const msb_trace_ctx_t *send = msb_trace_ctx_valid(&ctx) ? &ctx : &c->parent;
    if (rc == MSB_OK && cl->trace_formats != 0 && msb_trace_ctx_valid(send)) {
        msb_trace_carrier_t carrier = {NULL, carrier_set, &st};
        rc = msb_trace_inject(send, &carrier, cl->trace_formats, NULL);
    }
    if (rc == MSB_OK && cl->deadline_header != NULL && c->up->send_deadline) {
        char v[24];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)budget_ms);
        rc = add_extra(&st, cl->deadline_header, v);
    }
    if (rc != MSB_OK) {
        return rc == MSB_ELIMIT ? MSB_EINTERNAL : rc;
    }
    size_t n = 0;
    for (size_t i = 0; i < st.n; i++) {
        c->lines[n++] = c->extra.data + st.offs[i];
    }
    size_t gen = n;
    for (size_t i = 0; i < c->nreq_headers; i++) {
        if (!in_lines(c->req_headers[i], c->lines, gen)) {
            c->lines[n++] = c->req_headers[i];
        }
    }
    size_t mine = n;
    for (size_t i = 0; i < c->up->nheaders; i++) {
        if (!in_lines(c->up->headers[i], c->lines, mine)) {
            c->lines[n++] = c->up->headers[i];
        }
    }
    c->lines[n] = NULL;
    return MSB_OK;
}

/* ---- the span ------------------------------------------------------------------------------- */

static void start_span(msb__call_t *c)
{
    msb_client_t *cl = c->client;
    msb_tracer_t *t = cl->tracer != NULL ? cl->tracer : msb_trace_tracer("msb.client", NULL);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.kind = MSB_SPAN_CLIENT;
    if (c->has_parent) {
        so.parent = &c->parent;
    } else {
        so.root = true;
    }
    msb_attr_t attrs[5];
    size_t na = 0;
    attrs[na++] = (msb_attr_t)MSB_ATTR_STR("http.request.method", c->method);
    attrs[na++] = (msb_attr_t)MSB_ATTR_STR("url.full", c->url_safe);
    attrs[na++] = (msb_attr_t)MSB_ATTR_STR("server.address", c->server_address);
    attrs[na++] = (msb_attr_t)MSB_ATTR_INT("server.port", c->server_port);
    if (c->attempt > 1) {
        attrs[na++] = (msb_attr_t)MSB_ATTR_INT("http.request.resend_count", c->attempt - 1);
    }
    so.attrs = attrs;
    so.nattrs = na;
    c->span = msb_span_start(t, c->method, &so);
}

void msb__call_end_span(msb__call_t *c, int http_status, const char *error_type)
{
    if (c->span == NULL) {
        return;
    }
    if (http_status > 0) {
        msb_span_set_int(c->span, "http.response.status_code", http_status);
    }
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(c->span, &ctx);
    if (msb_trace_ctx_valid(&ctx) && msb_trace_ctx_sampled(&ctx)) {
        msb_trace_ctx_trace_id_hex(&ctx, c->ex_trace);
        msb_trace_ctx_span_id_hex(&ctx, c->ex_span);
    }
    if (error_type != NULL) {
        msb_span_set_str(c->span, "error.type", error_type);
        msb_span_set_status(c->span, MSB_SPAN_ERROR, error_type);
    }
    msb_span_end(c->span);
    c->span = NULL;
}

/* ---- before -----------------------------------------------------------------------------------
 */

static int on_header(void *user, const char *line, size_t len);
static int on_body(void *user, const char *data, size_t len);
static int on_poll(void *user);

msb_status_t msb__call_attempt_begin(msb__call_t *c)
{
    msb_client_upstream_t *up = c->up;
    uint64_t now = msb_clock_monotonic_ns(c->client->clock);
    uint64_t budget = c->attempt_timeout_ns;
    c->cut_by_deadline = false;
    if (c->deadline_ns != 0 && c->deadline_ns - now < budget) {
        budget = c->deadline_ns - now;
        c->cut_by_deadline = true;
    }
    if (up->breaker != NULL) {
        if (msb_breaker_acquire(up->breaker, &c->permit) != MSB_OK) {
            atomic_fetch_add(&up->n.breaker_rejected, 1);
            msb__client_metrics_reject(up, MSB__REJECT_BREAKER);
            msb__call_release_place(c);
            if (c->attempt == 0) {
                c->status = msb__err(&c->err, MSB_EREJECTED, "%s %.120s: breaker \"%s\" is open",
                                     c->method, c->url_safe, msb_breaker_name(up->breaker));
            } else {
                msb__err_prefix(&c->err, c->status,
                                "breaker \"%s\" opened, no retry: ", msb_breaker_name(up->breaker));
            }
            return MSB_EREJECTED;
        }
        c->has_permit = true;
    }
    c->attempt++;
    atomic_fetch_add(&up->n.attempts, 1);
    if (c->attempt > 1) {
        atomic_fetch_add(&up->n.retries, 1);
    }
    msb__client_response_reset(c->resp);
    c->received = 0;
    c->abort = MSB__ABORT_NONE;
    c->head_done = false;
    c->streaming = false;
    c->stream_decided = false;
    c->attempt_start_ns = now;
    /* rounded: a deadline of 200 ms set a moment ago still reads "200" */
    uint64_t ms = (budget + (uint64_t)MSB_MSEC / 2) / (uint64_t)MSB_MSEC;
    c->attempt_budget_ms = ms > 0 ? ms : 1;
    start_span(c);
    msb_status_t rc = build_lines(c, c->attempt_budget_ms);
    if (rc != MSB_OK) {
        msb__call_attempt_abandon(c);
        c->status = msb__err(&c->err, rc, "%s %.120s: out of memory building the headers",
                             c->method, c->url_safe);
        return rc;
    }
    uint64_t connect_ms = up->connect_timeout_ns / (uint64_t)MSB_MSEC;
    msb__client_xfer_t *x = &c->xfer;
    x->method = c->method;
    x->url = c->url;
    x->headers = c->lines;
    x->body = c->body;
    x->body_len = c->body_len;
    x->connect_timeout_ms = connect_ms < c->attempt_budget_ms ? connect_ms : c->attempt_budget_ms;
    x->timeout_ms = c->attempt_budget_ms;
    x->max_response = c->max_response;
    x->max_redirects = up->max_redirects;
    x->tls = up->has_tls ? &up->tls : NULL;
    x->on_header = on_header;
    x->on_body = on_body;
    x->on_poll = c->cancel != NULL ? on_poll : NULL;
    x->poll_ms = 20;
    x->user = c;
    return MSB_OK;
}

void msb__call_attempt_abandon(msb__call_t *c)
{
    if (c->has_permit) {
        msb_breaker_record(c->up->breaker, &c->permit, MSB_BREAKER_IGNORED);
        c->has_permit = false;
    }
    msb__call_release_place(c);
    msb__call_end_span(c, 0, "cancelled");
}

/* ---- during -----------------------------------------------------------------------------------
 */

static bool over_limit(msb__call_t *c, size_t len)
{
    c->received += len;
    if (c->max_response != 0 && c->received > c->max_response) {
        c->abort = MSB__ABORT_TOOBIG;
        return true;
    }
    return false;
}

static int on_header(void *user, const char *line, size_t len)
{
    msb__call_t *c = user;
    if (over_limit(c, len)) {
        return 1;
    }
    bool end = false;
    msb_status_t rc = msb__client_response_line(c->resp, line, len, &end);
    if (rc != MSB_OK) {
        c->abort = rc == MSB_ENOMEM ? MSB__ABORT_NOMEM : MSB__ABORT_PROTO;
        return 1;
    }
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        c->head_done = false;
    }
    if (end && c->resp->status >= 200) {
        c->head_done = true;
    }
    return 0;
}

/* Would the response in hand be retried? Then its body is kept, not streamed. */
static bool may_retry_response(msb__call_t *c)
{
    if (!c->retries || c->attempt >= c->up->max_attempts) {
        return false;
    }
    msb_client_outcome_t o = {sizeof(o), MSB_OK, c->resp->status, c->method, c->idempotent, true};
    msb_breaker_outcome_t b;
    bool retry = false;
    c->up->classify(&o, &b, &retry, c->up->classify_user);
    return retry;
}

static int on_body(void *user, const char *data, size_t len)
{
    msb__call_t *c = user;
    if (over_limit(c, len)) {
        return 1;
    }
    if (!c->stream_decided) {
        c->stream_decided = true;
        c->streaming = c->on_body != NULL && !may_retry_response(c);
    }
    if (c->streaming) {
        if (c->on_body(c->resp, data, len, c->body_user) != 0) {
            c->abort = MSB__ABORT_STREAM;
            return 1;
        }
        return 0;
    }
    msb__buf_append(&c->resp->body, data, len);
    if (msb__buf_status(&c->resp->body) != MSB_OK) {
        c->abort = MSB__ABORT_NOMEM;
        return 1;
    }
    return 0;
}

static int on_poll(void *user)
{
    msb__call_t *c = user;
    if (msb_retry_cancelled(c->cancel)) {
        c->abort = MSB__ABORT_CANCEL;
        return 1;
    }
    return 0;
}
