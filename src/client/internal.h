/* Inside the HTTP client (the files of src/client). */
#ifndef MSB_CLIENT_INTERNAL_H
#define MSB_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "client/driver.h"
#include "core/buf.h"
#include "core/common.h"
#include "msb/client.h"

/* Most header lines a request may carry (its own plus the upstream's). */
#define MSB__CLIENT_MAX_HEADERS 256
/* Longest header name accepted. */
#define MSB__CLIENT_MAX_NAME 256
/* Generated lines added to each attempt: User-Agent, traceparent, tracestate, b3 forms,
 * baggage, the deadline header. */
#define MSB__CLIENT_EXTRA_LINES 12

/* ---- upstreams ------------------------------------------------------------------------------ */

typedef struct msb__client_counters {
    _Atomic uint64_t calls;
    _Atomic uint64_t attempts;
    _Atomic uint64_t retries;
    _Atomic uint64_t responses;
    _Atomic uint64_t errors;
    _Atomic uint64_t breaker_rejected;
    _Atomic uint64_t bulkhead_rejected;
    _Atomic uint64_t budget_exhausted;
    _Atomic uint64_t timeouts;
    _Atomic uint64_t in_flight;
} msb__client_counters_t;

/* Why an attempt or a retry was refused (indexes the rejected counters). */
typedef enum msb__reject {
    MSB__REJECT_BREAKER = 0,
    MSB__REJECT_BULKHEAD = 1,
    MSB__REJECT_BUDGET = 2
} msb__reject_t;

struct msb_client_upstream {
    char *name;
    char *base_url; /* without a trailing '/'; NULL: absolute URLs only */
    char **headers; /* NULL-terminated copies */
    size_t nheaders;
    uint64_t connect_timeout_ns;
    uint64_t timeout_ns;
    uint64_t call_timeout_ns;
    uint64_t max_response;
    uint32_t max_redirects;
    uint32_t max_attempts; /* of the retry policy; 1 without one */
    msb_retry_t *retry;    /* NULL: no retries */
    msb_breaker_t *breaker;
    bool own_breaker;
    msb_bulkhead_t *bulkhead;
    bool own_bulkhead;
    uint64_t bulkhead_wait_ns; /* how long a loop call waits for a place */
    msb_client_classify_fn classify;
    void *classify_user;
    bool has_tls;
    msb__client_tls_t tls; /* strings owned */
    bool send_deadline;
    msb_log_t *log;
    const msb_client_metrics_t *metrics; /* NULL: none */
    msb_gauge_t *m_in_flight;
    msb_counter_t *m_rejected[3];
    msb__client_counters_t n;
};

/* ---- clients -------------------------------------------------------------------------------- */

typedef struct msb__call msb__call_t;
typedef struct msb__slot msb__slot_t;

typedef struct msb__host_count {
    char *key;
    uint32_t in_use;
} msb__host_count_t;

struct msb_client {
    const msb__client_driver_t *drv;
    struct event_base *base; /* NULL: a blocking client */
    const msb_clock_t *clock;
    msb_tracer_t *tracer; /* NULL: the global provider's, looked up per span */
    unsigned trace_formats;
    char *deadline_header; /* NULL: not sent */
    char *user_agent;      /* NULL: not sent */
    msb_client_upstream_t *defaults;
    bool own_defaults;
    msb__client_pool_t pool;

    /* loop client */
    void *loop;
    msb__call_t *calls;   /* every call not yet delivered */
    msb__call_t *waiters; /* calls waiting for a bulkhead place, oldest first */
    msb__call_t *waiters_tail;
    struct event *waiter_timer;
    bool closing; /* msb_client_free() is cancelling the calls */

    /* blocking client */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a slot or a host place was given back */
    void *share;
    msb__slot_t *idle; /* most recently used first */
    uint32_t slots;    /* slots in existence (idle or busy) */
    msb__host_count_t *hosts;
    size_t nhosts;
    size_t hosts_cap;
};

/* ---- responses ------------------------------------------------------------------------------ */

struct msb_client_response {
    int status;
    uint32_t attempts;
    msb__buf_t head; /* "name\0value\0" pairs */
    size_t *fields;  /* offset of each name in head */
    size_t nfields;
    size_t fields_cap;
    bool folding_ok; /* the last line was a field (an obs-fold may continue it) */
    msb__buf_t body;
};

MSB_INTERNAL msb_client_response_t *msb__client_response_new(void);
/* Forget everything (a new response: a retry, an interim 1xx, a redirect). */
MSB_INTERNAL void msb__client_response_reset(msb_client_response_t *r);
/* Feed one raw header line. MSB_OK, MSB_ENOMEM, or MSB_EPROTO for a line that is not a
 * status line, a field or the end of the header. *end is set at the empty line. */
MSB_INTERNAL msb_status_t msb__client_response_line(msb_client_response_t *r, const char *line,
                                                    size_t len, bool *end);

/* ---- calls ---------------------------------------------------------------------------------- */

typedef enum msb__abort {
    MSB__ABORT_NONE = 0,
    MSB__ABORT_TOOBIG,
    MSB__ABORT_STREAM, /* the body callback returned non-zero */
    MSB__ABORT_NOMEM,
    MSB__ABORT_PROTO, /* a header line we could not parse */
    MSB__ABORT_CANCEL /* the blocking cancellation token */
} msb__abort_t;

/* What happens after an attempt. */
typedef enum msb__next { MSB__NEXT_FINISH = 0, MSB__NEXT_RETRY = 1 } msb__next_t;

/* One logical call, shared by the loop and blocking paths. Fields are grouped by purpose, not
 * packed: one per call in flight. */
struct msb__call { // NOLINT(clang-analyzer-optin.performance.Padding)
    msb_client_t *client;
    msb_client_upstream_t *up;
    char *arena; /* copies of the request's strings and body (loop calls) */
    const char *method;
    char *url;      /* absolute, owned */
    char *url_safe; /* credentials and query values removed: errors and spans */
    char *host_key; /* "scheme://host:port": the per-host limit of blocking clients */
    char *server_address;
    int server_port;
    const char *const *req_headers;
    size_t nreq_headers;
    const void *body;
    size_t body_len;
    bool idempotent;
    bool retries;         /* the call may be retried at all */
    uint64_t deadline_ns; /* absolute on the client's clock; 0: none */
    uint64_t attempt_timeout_ns;
    uint64_t max_response;
    msb_trace_ctx_t parent;
    bool has_parent;
    msb_client_body_fn on_body;
    void *body_user;
    msb_retry_cancel_t *cancel;
    uint64_t start_ns;

    /* the current attempt */
    msb_retry_call_t rcall;
    uint32_t attempt;
    msb_breaker_permit_t permit;
    bool has_permit;
    bool has_place;
    msb_span_t *span;
    uint64_t attempt_start_ns;
    uint64_t attempt_budget_ms; /* timeout of this attempt */
    bool cut_by_deadline;       /* the attempt's timeout is the deadline's remainder */
    const char **lines;         /* the lines handed to the driver */
    msb__buf_t extra;           /* storage of the generated lines */
    msb__client_xfer_t xfer;
    msb_client_response_t *resp;
    uint64_t received; /* header + body bytes of this attempt */
    msb__abort_t abort;
    bool head_done; /* the final header arrived */
    bool streaming; /* body bytes go to on_body */
    bool stream_decided;

    char ex_trace[33]; /* ids of the last sampled attempt span: the duration's exemplar */
    char ex_span[17];

    /* the outcome so far */
    msb_status_t status;
    msb_error_t err;

    /* loop calls */
    int state;
    void *xfer_handle;
    struct event *timer;
    msb_client_done_fn done;
    void *done_user;
    bool in_send;
    msb__call_t *prev, *next;   /* client->calls */
    msb__call_t *wprev, *wnext; /* client->waiters */
    bool waiting;
};

/* Validate the request and fill the call (copying what a loop call must keep when `copy`). */
MSB_INTERNAL msb_status_t msb__call_init(msb__call_t *c, msb_client_t *client,
                                         const msb_client_req_t *req, bool copy, msb_error_t *err);
MSB_INTERNAL void msb__call_cleanup(msb__call_t *c);
/* Whether the deadline has passed; if so the call's outcome is set (MSB_ETIMEDOUT, or the last
 * attempt's when there was one). */
MSB_INTERNAL bool msb__call_expired(msb__call_t *c);
/* Take a bulkhead place without waiting: true if taken (or no bulkhead). */
MSB_INTERNAL bool msb__call_try_place(msb__call_t *c);
/* Give the place back (if held). */
MSB_INTERNAL void msb__call_release_place(msb__call_t *c);
/* The bulkhead refused a place (after waiting `waited_ns`): set the outcome. */
MSB_INTERNAL void msb__call_place_refused(msb__call_t *c, msb_status_t why, uint64_t waited_ns);
/* Breaker, span, headers, timeouts: after this returns MSB_OK, c->xfer is ready for the
 * driver. Otherwise the call's outcome is set and the call ends. */
MSB_INTERNAL msb_status_t msb__call_attempt_begin(msb__call_t *c);
/* Account for an attempt that ended; decide whether to retry (and after what delay). */
MSB_INTERNAL msb__next_t msb__call_attempt_end(msb__call_t *c, const msb__client_result_t *res,
                                               uint64_t *delay_ns);
/* An attempt that never reached the driver's end (cancelled): give back permit, place, span. */
MSB_INTERNAL void msb__call_attempt_abandon(msb__call_t *c);
/* End the attempt's span with the response status (0: none) and OTel error.type (NULL: ok). */
MSB_INTERNAL void msb__call_end_span(msb__call_t *c, int http_status, const char *error_type);
/* The end: MSB_OK and *resp (new), or the error in *err. */
MSB_INTERNAL msb_status_t msb__call_finish(msb__call_t *c, msb_client_response_t **resp,
                                           msb_error_t *err);

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct msb__url {
    bool https;
    const char *host; /* without brackets */
    size_t host_len;
    uint16_t port; /* explicit, else 80 / 443 */
    size_t rest;   /* offset of the path, query or fragment (or the end) */
} msb__url_t;

/* Parse an absolute http/https URL. MSB_EINVAL naming what is wrong. */
MSB_INTERNAL msb_status_t msb__client_url_parse(const char *url, msb__url_t *out, msb_error_t *err);
/* Append a form of url fit for logs: no userinfo, query values replaced by "REDACTED", no
 * fragment. Invalid URLs are written as "<invalid URL>". */
MSB_INTERNAL void msb__client_url_redact(const char *url, msb__buf_t *out);
/* Whether s is a token (RFC 9110 5.6.2) of 1..max bytes. */
MSB_INTERNAL bool msb__client_token(const char *s, size_t len, size_t max);
/* Check one "Name: value" line. MSB_EINVAL naming `what` and the problem. */
MSB_INTERNAL msb_status_t msb__client_header_check(const char *line, const char *what,
                                                   msb_error_t *err);
/* Length of the name of a valid header line. */
MSB_INTERNAL size_t msb__client_header_name_len(const char *line);

/*
 * Parse a Retry-After value (RFC 9110 10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate,
 * RFC 850, asctime) compared with now_s (seconds since the epoch). A date in the past gives 0.
 * MSB_OK and *delay_s, or MSB_EPROTO.
 */
MSB_INTERNAL msb_status_t msb__client_retry_after(const char *v, size_t len, int64_t now_s,
                                                  uint64_t *delay_s);
/* Parse an HTTP-date to seconds since the epoch. MSB_OK or MSB_EPROTO. */
MSB_INTERNAL msb_status_t msb__client_http_date(const char *v, size_t len, int64_t now_s,
                                                int64_t *out);

/* Metrics (metrics.c); each does nothing for an upstream without metrics. */
MSB_INTERNAL msb_status_t msb__client_metrics_bind(msb_client_upstream_t *u, msb_error_t *err);
MSB_INTERNAL void msb__client_metrics_reject(msb_client_upstream_t *u, msb__reject_t reason);
MSB_INTERNAL void msb__client_metrics_in_flight(msb_client_upstream_t *u, double delta);
MSB_INTERNAL void msb__client_metrics_attempt(const msb__call_t *c, int http_status,
                                              const char *error_type);
MSB_INTERNAL void msb__client_metrics_call(const msb__call_t *c, msb_status_t st, int http_status,
                                           double seconds);

/* The loaded driver (after msb__client_driver()). */
MSB_INTERNAL msb_status_t msb__client_driver(const msb__client_driver_t **out, msb_error_t *err);

/* Loop and blocking paths (loop.c, blocking.c). */
MSB_INTERNAL msb_status_t msb__client_loop_init(msb_client_t *c, msb_error_t *err);
MSB_INTERNAL void msb__client_loop_fini(msb_client_t *c);
MSB_INTERNAL msb_status_t msb__client_blocking_init(msb_client_t *c, msb_error_t *err);
MSB_INTERNAL void msb__client_blocking_fini(msb_client_t *c);

#endif
