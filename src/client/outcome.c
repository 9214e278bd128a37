/*
 * What an attempt's end means: the transport's result turned into a status and a message, the
 * classifier's verdict recorded by the breaker, the span ended, the retry decided (policy,
 * budget, Retry-After, deadline); and how a call ends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/internal.h"
#include "core/error.h"
#include "core/str.h"

/* ---- the transport's result ----------------------------------------------------------------- */

typedef struct attempt_view {
    msb_status_t status;
    const char *error_type; /* OTel error.type; NULL on success */
} attempt_view_t;

static attempt_view_t describe_abort(msb__call_t *c)
{
    switch (c->abort) {
    case MSB__ABORT_TOOBIG:
        msb__err(&c->err, MSB_ETOOBIG, "%s %.120s: response larger than %llu bytes", c->method,
                 c->url_safe, (unsigned long long)c->max_response);
        return (attempt_view_t){MSB_ETOOBIG, "response_too_big"};
    case MSB__ABORT_STREAM:
        msb__err(&c->err, MSB_ECANCELED, "%s %.120s: the body callback stopped the transfer",
                 c->method, c->url_safe);
        return (attempt_view_t){MSB_ECANCELED, "cancelled"};
    case MSB__ABORT_NOMEM:
        msb__err(&c->err, MSB_ENOMEM, "%s %.120s: out of memory receiving the response", c->method,
                 c->url_safe);
        return (attempt_view_t){MSB_ENOMEM, "out_of_memory"};
    case MSB__ABORT_PROTO:
        msb__err(&c->err, MSB_EPROTO, "%s %.120s: malformed response header", c->method,
                 c->url_safe);
        return (attempt_view_t){MSB_EPROTO, "malformed_response"};
    case MSB__ABORT_CANCEL:
    default:
        msb__err(&c->err, MSB_ECANCELED, "%s %.120s: cancelled", c->method, c->url_safe);
        return (attempt_view_t){MSB_ECANCELED, "cancelled"};
    }
}

static attempt_view_t describe_timeout(msb__call_t *c, const msb__client_result_t *r)
{
    unsigned long long ms = (unsigned long long)c->attempt_budget_ms;
    if (r->fail == MSB__XFER_CONNECT_TIMEOUT) {
        msb__err(&c->err, MSB_ETIMEDOUT, "%s %.120s: connect timed out after %llu ms", c->method,
                 c->url_safe, (unsigned long long)c->xfer.connect_timeout_ms);
    } else if (c->cut_by_deadline) {
        msb__err(&c->err, MSB_ETIMEDOUT,
                 "%s %.120s: deadline exceeded (no response in the %llu ms left)", c->method,
                 c->url_safe, ms);
    } else {
        msb__err(&c->err, MSB_ETIMEDOUT, "%s %.120s: timed out after %llu ms", c->method,
                 c->url_safe, ms);
    }
    return (attempt_view_t){MSB_ETIMEDOUT, "timeout"};
}

static attempt_view_t fail(msb__call_t *c, msb_status_t st, const char *type, const char *what,
                           const char *detail)
{
    msb__err(&c->err, st, "%s %.120s: %s%s%s", c->method, c->url_safe, what,
             detail[0] != '\0' ? ": " : "", detail);
    return (attempt_view_t){st, type};
}

static attempt_view_t describe(msb__call_t *c, const msb__client_result_t *r)
{
    const char *d = r->detail;
    switch (r->fail) {
    case MSB__XFER_OK:
        if (!c->head_done) {
            return fail(c, MSB_EPROTO, "malformed_response", "no complete response header", "");
        }
        return (attempt_view_t){MSB_OK, NULL};
    case MSB__XFER_ABORTED:
        return describe_abort(c);
    case MSB__XFER_DNS:
        return fail(c, MSB_EUNAVAIL, "dns", "could not resolve host", d);
    case MSB__XFER_REFUSED:
        return fail(c, MSB_EUNAVAIL, "connection_refused", "could not connect", d);
    case MSB__XFER_CONNECT_TIMEOUT:
    case MSB__XFER_TIMEOUT:
        return describe_timeout(c, r);
    case MSB__XFER_TLS:
        return fail(c, MSB_EUNAVAIL, "tls", "TLS failure", d);
    case MSB__XFER_SEND:
        return fail(c, MSB_EUNAVAIL, "send", "connection failed while sending", d);
    case MSB__XFER_RECV:
        return fail(c, MSB_EUNAVAIL, "connection_closed",
                    "connection reset or closed before a complete response", d);
    case MSB__XFER_PROTO:
        return fail(c, MSB_EPROTO, "malformed_response", "invalid HTTP response", d);
    case MSB__XFER_TOOBIG:
        msb__err(&c->err, MSB_ETOOBIG, "%s %.120s: response larger than %llu bytes", c->method,
                 c->url_safe, (unsigned long long)c->max_response);
        return (attempt_view_t){MSB_ETOOBIG, "response_too_big"};
    case MSB__XFER_REDIRECTS:
        return fail(c, MSB_EPROTO, "too_many_redirects", "too many redirects", d);
    case MSB__XFER_NOMEM:
        return fail(c, MSB_ENOMEM, "out_of_memory", "out of memory for the transfer", "");
    case MSB__XFER_BADURL:
        return fail(c, MSB_EINVAL, "invalid_url", "URL refused", d);
    case MSB__XFER_OTHER:
    default:
        return fail(c, MSB_EUNAVAIL, "_OTHER", "transfer failed", d);
    }
}

/* ---- the retry decision --------------------------------------------------------------------- */

static uint64_t retry_after_ns(msb__call_t *c, msb_status_t st)
{
    if (st != MSB_OK || (c->resp->status != 429 && c->resp->status != 503)) {
        return 0;
    }
    const char *v = msb_client_response_header(c->resp, "Retry-After", 0);
    uint64_t s = 0;
    int64_t now_s = msb_clock_realtime_ns(NULL) / MSB_SEC;
    if (v == NULL || msb__client_retry_after(v, strlen(v), now_s, &s) != MSB_OK) {
        return 0;
    }
    /* far beyond any policy's cap, and no overflow */
    return s > 86400 * 365 ? (uint64_t)86400 * 365 * MSB_SEC : s * (uint64_t)MSB_SEC;
}

/* Append why no retry follows to the error message (responses need no message). */
static void note(msb__call_t *c, msb_status_t st, const char *fmt, ...) MSB_PRINTF(3, 4);

static void note(msb__call_t *c, msb_status_t st, const char *fmt, ...)
{
    if (st == MSB_OK) {
        return;
    }
    size_t len = strlen(c->err.message);
    if (len + 2 < sizeof(c->err.message)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err.message + len, sizeof(c->err.message) - len, fmt, ap);
        va_end(ap);
    }
}

static msb__next_t decide(msb__call_t *c, msb_status_t st, bool retry, uint64_t *delay)
{
    msb_client_upstream_t *up = c->up;
    if (!c->retries || !retry) {
        if (c->attempt > 1) {
            note(c, st, " (attempt %u)", c->attempt);
        }
        return MSB__NEXT_FINISH;
    }
    uint64_t now = msb_clock_monotonic_ns(c->client->clock);
    if (c->deadline_ns != 0 && now >= c->deadline_ns) {
        if (!c->cut_by_deadline) {
            note(c, st, " (attempt %u; the deadline has passed)", c->attempt);
        }
        return MSB__NEXT_FINISH;
    }
    uint64_t ra = retry_after_ns(c, st);
    msb_status_t as = st != MSB_OK ? st : MSB_EUNAVAIL;
    msb_retry_verdict_t v = msb_retry_next(up->retry, &c->rcall, as, &retry, ra, delay);
    if (v == MSB_RETRY_NO_BUDGET) {
        atomic_fetch_add(&up->n.budget_exhausted, 1);
        msb__client_metrics_reject(up, MSB__REJECT_BUDGET);
        note(c, st, " (attempt %u; retry budget exhausted)", c->attempt);
    } else if (v == MSB_RETRY_NO_ATTEMPTS) {
        note(c, st, " (after %u attempts)", c->attempt);
    } else if (v == MSB_RETRY_RETRY_AFTER) {
        note(c, st, " (Retry-After of %llu s exceeds the retry policy's limit)",
             (unsigned long long)(ra / (uint64_t)MSB_SEC));
    } else if (v != MSB_RETRY_AGAIN) {
        note(c, st, " (attempt %u; no time for another)", c->attempt);
    }
    if (v != MSB_RETRY_AGAIN) {
        return MSB__NEXT_FINISH;
    }
    if (c->deadline_ns != 0 && now + *delay + (uint64_t)MSB_MSEC >= c->deadline_ns) {
        note(c, st, " (attempt %u; no time left before the deadline for another)", c->attempt);
        return MSB__NEXT_FINISH;
    }
    msb_log_write(up->log, MSB_LOG_DEBUG, "client: retrying",
                  MSB_LOG_FIELDS(MSB_LOG_STR("upstream", up->name),
                                 MSB_LOG_STR("method", c->method), MSB_LOG_STR("url", c->url_safe),
                                 MSB_LOG_I64("attempt", c->attempt + 1),
                                 MSB_LOG_I64("status", c->resp->status),
                                 MSB_LOG_STR("error", st != MSB_OK ? c->err.message : ""),
                                 MSB_LOG_I64("delay_ms", *delay / (uint64_t)MSB_MSEC)));
    return MSB__NEXT_RETRY;
}

msb__next_t msb__call_attempt_end(msb__call_t *c, const msb__client_result_t *res,
                                  uint64_t *delay_ns)
{
    msb_client_upstream_t *up = c->up;
    *delay_ns = 0;
    uint64_t now = msb_clock_monotonic_ns(c->client->clock);
    attempt_view_t v = describe(c, res);
    if (v.status == MSB_ETIMEDOUT) {
        atomic_fetch_add(&up->n.timeouts, 1);
    }
    msb_client_outcome_t o = {sizeof(o), v.status,      v.status == MSB_OK ? c->resp->status : 0,
                              c->method, c->idempotent, res->sent};
    msb_breaker_outcome_t bo = MSB_BREAKER_IGNORED;
    bool retry = false;
    up->classify(&o, &bo, &retry, up->classify_user);
    if (c->has_permit) {
        msb_breaker_record_duration(up->breaker, &c->permit, bo, now - c->attempt_start_ns);
        c->has_permit = false;
    }
    msb__call_release_place(c);
    char code[16];
    const char *etype = v.error_type;
    if (v.status == MSB_OK && c->resp->status >= 400) {
        snprintf(code, sizeof(code), "%d", c->resp->status);
        etype = code;
    }
    msb__call_end_span(c, v.status == MSB_OK ? c->resp->status : (int)res->http_status, etype);
    msb__client_metrics_attempt(c, v.status == MSB_OK ? c->resp->status : 0, etype);
    c->status = v.status;
    if (v.status == MSB_OK) {
        c->resp->attempts = c->attempt;
    }
    if (v.status == MSB_ECANCELED || v.status == MSB_ENOMEM) {
        return MSB__NEXT_FINISH;
    }
    return decide(c, v.status, retry, delay_ns);
}
