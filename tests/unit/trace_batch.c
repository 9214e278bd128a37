/* The batch span processor and the OTLP/HTTP exporter against a local HTTP listener that
 * answers 200, 503 (with Retry-After), 400, or never: the queue is bounded and counts its drops,
 * the ending thread never blocks, retries follow the OTLP rules, shutdown keeps its deadline.
 * msb-test: the OTLP exporter loads the curl plugin (MSB_PLUGIN_DIR). */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "msb/core.h"
#include "msb/trace.h"

/* ---- a small HTTP listener -------------------------------------------------------------- */

typedef struct listener {
    int fd;
    int port;
    int stop_pipe[2];
    pthread_t thread;
    const char *const *answers; /* per request: status line + headers; NULL entry: never answer */
    size_t nanswers;
    _Atomic int requests;
    char last_body[65536];
    size_t last_len;
    bool last_gzip;
    pthread_mutex_t lock;
    pthread_cond_t got_request;
} listener_t;

static bool wait_readable(listener_t *l, int fd)
{
    struct pollfd p[2] = {{fd, POLLIN, 0}, {l->stop_pipe[0], POLLIN, 0}};
    return poll(p, 2, -1) > 0 && (p[0].revents & (POLLIN | POLLHUP)) && !(p[1].revents & POLLIN);
}

/* Read one request (headers + Content-Length body); false on EOF or stop. */
static bool read_request(listener_t *l, int c, char *buf, size_t cap, size_t *body_off,
                         size_t *body_len)
{
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        if (!wait_readable(l, c) || len == cap) {
            return false;
        }
        ssize_t n = read(c, buf + len, cap - len - 1);
        if (n <= 0) {
            return false;
        }
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t clen = 0;
    const char *cl = strcasestr(buf, "content-length:");
    if (cl != NULL) {
        clen = strtoul(cl + 15, NULL, 10);
    }
    *body_off = (size_t)(end + 4 - buf);
    while (len < *body_off + clen) {
        if (!wait_readable(l, c)) {
            return false;
        }
        ssize_t n = read(c, buf + len, cap - len);
        if (n <= 0) {
            return false;
        }
        len += (size_t)n;
    }
    *body_len = clen;
    pthread_mutex_lock(&l->lock);
    l->last_gzip = strcasestr(buf, "content-encoding: gzip") != NULL;
    pthread_mutex_unlock(&l->lock);
    return true;
}

static void serve(listener_t *l, int c)
{
    static char buf[1 << 20];
    size_t off, blen;
    while (read_request(l, c, buf, sizeof(buf), &off, &blen)) {
        int i = atomic_fetch_add(&l->requests, 1);
        pthread_mutex_lock(&l->lock);
        pthread_cond_broadcast(&l->got_request);
        l->last_len = blen < sizeof(l->last_body) ? blen : sizeof(l->last_body) - 1;
        memcpy(l->last_body, buf + off, l->last_len);
        pthread_mutex_unlock(&l->lock);
        const char *answer = l->answers[(size_t)i < l->nanswers ? (size_t)i : l->nanswers - 1];
        if (answer == NULL) {
            struct pollfd p = {l->stop_pipe[0], POLLIN, 0};
            poll(&p, 1, -1); /* hold the request until the test ends */
            return;
        }
        char resp[512];
        int n = snprintf(resp, sizeof(resp), "%s\r\nContent-Length: 2\r\n\r\n{}", answer);
        if (write(c, resp, (size_t)n) != n) {
            return;
        }
    }
}

static void *listener_main(void *arg)
{
    listener_t *l = arg;
    for (;;) {
        if (!wait_readable(l, l->fd)) {
            return NULL;
        }
        int c = accept(l->fd, NULL, NULL);
        if (c < 0) {
            return NULL;
        }
        serve(l, c);
        close(c);
    }
}

static void listener_start(listener_t *l, const char *const *answers, size_t n)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->got_request, NULL);
    l->answers = answers;
    l->nanswers = n;
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(l->fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t alen = sizeof(a);
    getsockname(l->fd, (struct sockaddr *)&a, &alen);
    l->port = ntohs(a.sin_port);
    cr_assert_eq(listen(l->fd, 8), 0);
    cr_assert_eq(pipe(l->stop_pipe), 0);
    cr_assert_eq(pthread_create(&l->thread, NULL, listener_main, l), 0);
}

static void listener_stop(listener_t *l)
{
    if (write(l->stop_pipe[1], "x", 1) != 1) {
        cr_log_warn("stop pipe");
    }
    pthread_join(l->thread, NULL);
    close(l->fd);
    close(l->stop_pipe[0]);
    close(l->stop_pipe[1]);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->got_request);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static msb_tracer_provider_t *otlp_provider(const listener_t *l, const msb_trace_batch_opts_t *bo,
                                            const msb_trace_otlp_opts_t *oo_in)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", l->port);
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    if (oo_in != NULL) {
        oo = *oo_in;
    }
    oo.endpoint = url;
    msb_span_exporter_t *exp = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_trace_otlp_exporter_new(&oo, &exp, &err), MSB_OK, "%s", err.message);
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_batch_processor_new(bo, exp, &proc, &err), MSB_OK, "%s", err.message);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "batch-test";
    o.processor = proc;
    o.shutdown_timeout_ms = 500;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    return p;
}

static void end_spans(msb_tracer_provider_t *p, int n, const char *name)
{
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    for (int i = 0; i < n; i++) {
        msb_span_t *s = msb_span_start(t, name, NULL);
        msb_span_set_int(s, "i", i);
        msb_span_end(s);
    }
}

/* ---- the queue ----------------------------------------------------------------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int exports_entered;
static size_t spans_seen;

static msb_status_t gated(void *user, const char *json, size_t len, const msb_span_t *const *s,
                          size_t n)
{
    (void)user;
    (void)json;
    (void)len;
    (void)s;
    pthread_mutex_lock(&gate_lock);
    exports_entered++;
    spans_seen += n;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open) {
        pthread_cond_wait(&gate_cond, &gate_lock);
    }
    pthread_mutex_unlock(&gate_lock);
    return MSB_OK;
}

Test(trace_batch, full_queue_drops_and_counts_exactly)
{
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_exporter_new(gated, NULL, &exp), MSB_OK);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.max_queue_size = 8;
    bo.max_export_batch_size = 4;
    bo.schedule_delay_ms = 60000;
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_batch_processor_new(&bo, exp, &proc, NULL), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "q";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    end_spans(p, 4, "first"); /* a full batch wakes the exporter, which then blocks */
    pthread_mutex_lock(&gate_lock);
    while (exports_entered == 0) {
        pthread_cond_wait(&gate_cond, &gate_lock);
    }
    pthread_mutex_unlock(&gate_lock);
    end_spans(p, 100, "second"); /* 8 fit in the queue, 92 are dropped */
    cr_expect_eq(msb_span_processor_dropped(proc), 92);
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    cr_assert_eq(msb_tracer_provider_flush(p, 5000), MSB_OK);
    cr_expect_eq(msb_span_processor_exported(proc), 12);
    cr_expect_eq(spans_seen, 12);
    msb_tracer_provider_free(p);
}

Test(trace_batch, options_are_checked)
{
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_log_exporter_new(2, &exp), MSB_OK);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.max_queue_size = 10;
    bo.max_export_batch_size = 20;
    msb_span_processor_t *proc = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_expect_eq(msb_trace_batch_processor_new(&bo, exp, &proc, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "max_export_batch_size"), NULL, "%s", err.message);
    cr_expect_eq(msb_trace_batch_processor_new(NULL, NULL, &proc, &err), MSB_EINVAL);
    msb_span_exporter_free(exp); /* not taken on failure */
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    oo.endpoint = "ftp://example";
    cr_expect_eq(msb_trace_otlp_exporter_new(&oo, &exp, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "ftp://example"), NULL, "%s", err.message);
    const char *bad_headers[] = {"no colon", NULL};
    oo.endpoint = "http://127.0.0.1:1";
    oo.headers = bad_headers;
    cr_expect_eq(msb_trace_otlp_exporter_new(&oo, &exp, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "header 0"), NULL, "%s", err.message);
    const char *many[40];
    for (int i = 0; i < 39; i++) {
        many[i] = "X-A: b";
    }
    many[39] = NULL;
    oo.headers = many;
    cr_expect_eq(msb_trace_otlp_exporter_new(&oo, &exp, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "more than 32 headers"), NULL, "%s", err.message);
}

/* ---- OTLP over HTTP ------------------------------------------------------------------------ */

Test(trace_batch, otlp_posts_json_to_v1_traces)
{
    static const char *const ok[] = {"HTTP/1.1 200 OK\r\nContent-Type: application/json"};
    listener_t l;
    listener_start(&l, ok, 1);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    const char *hdrs[] = {"X-Tenant: acme", NULL};
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    oo.headers = hdrs;
    msb_tracer_provider_t *p = otlp_provider(&l, &bo, &oo);
    end_spans(p, 3, "posted");
    cr_assert_eq(msb_tracer_provider_flush(p, 10000), MSB_OK);
    cr_expect_eq(atomic_load(&l.requests), 1);
    cr_expect_eq(msb_span_processor_exported(msb_tracer_provider_processor(p)), 3);
    pthread_mutex_lock(&l.lock);
    l.last_body[l.last_len] = '\0';
    cr_expect_neq(strstr(l.last_body, "\"name\":\"posted\""), NULL, "%s", l.last_body);
    cr_expect_neq(strstr(l.last_body, "\"resourceSpans\""), NULL);
    pthread_mutex_unlock(&l.lock);
    msb_tracer_provider_free(p);
    listener_stop(&l);
}

Test(trace_batch, otlp_gzip)
{
    static const char *const ok[] = {"HTTP/1.1 200 OK"};
    listener_t l;
    listener_start(&l, ok, 1);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    oo.gzip = true;
    msb_tracer_provider_t *p = otlp_provider(&l, &bo, &oo);
    end_spans(p, 2, "zipped");
    cr_assert_eq(msb_tracer_provider_flush(p, 10000), MSB_OK);
    pthread_mutex_lock(&l.lock);
    cr_expect(l.last_gzip);
    char out[65536];
    uLongf out_len = sizeof(out) - 1;
    z_stream z = {0};
    inflateInit2(&z, 31);
    z.next_in = (Bytef *)l.last_body;
    z.avail_in = (uInt)l.last_len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)out_len;
    cr_expect_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    out[z.total_out] = '\0';
    inflateEnd(&z);
    cr_expect_neq(strstr(out, "\"name\":\"zipped\""), NULL);
    pthread_mutex_unlock(&l.lock);
    msb_tracer_provider_free(p);
    listener_stop(&l);
}

Test(trace_batch, otlp_retries_503_and_429_honouring_retry_after)
{
    static const char *const answers[] = {
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0",
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1",
        "HTTP/1.1 200 OK",
    };
    listener_t l;
    listener_start(&l, answers, 3);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    oo.retry_initial_ms = 60000; /* were the backoff used instead of Retry-After, flush times out */
    msb_tracer_provider_t *p = otlp_provider(&l, &bo, &oo);
    end_spans(p, 1, "retried");
    uint64_t t0 = now_ms();
    cr_assert_eq(msb_tracer_provider_flush(p, 10000), MSB_OK);
    cr_expect_geq(now_ms() - t0, 900, "Retry-After: 1 was honoured");
    cr_expect_eq(atomic_load(&l.requests), 3);
    cr_expect_eq(msb_span_processor_exported(msb_tracer_provider_processor(p)), 1);
    msb_tracer_provider_free(p);
    listener_stop(&l);
}

Test(trace_batch, otlp_does_not_retry_400)
{
    static const char *const answers[] = {"HTTP/1.1 400 Bad Request", "HTTP/1.1 200 OK"};
    listener_t l;
    listener_start(&l, answers, 2);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    msb_tracer_provider_t *p = otlp_provider(&l, &bo, NULL);
    end_spans(p, 2, "rejected");
    cr_expect_eq(msb_tracer_provider_flush(p, 10000), MSB_EPROTO);
    cr_expect_eq(atomic_load(&l.requests), 1);
    cr_expect_eq(msb_span_processor_failed(msb_tracer_provider_processor(p)), 2);
    msb_tracer_provider_free(p);
    listener_stop(&l);
}

Test(trace_batch, collector_that_never_answers_drops_and_never_blocks)
{
    static const char *const never[] = {NULL};
    listener_t l;
    listener_start(&l, never, 1);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.max_queue_size = 64;
    bo.max_export_batch_size = 16;
    bo.schedule_delay_ms = 10;
    msb_tracer_provider_t *p = otlp_provider(&l, &bo, NULL); /* 10 s request timeout */
    end_spans(p, 16, "stuck");
    pthread_mutex_lock(&l.lock);
    while (atomic_load(&l.requests) == 0) {
        pthread_cond_wait(&l.got_request, &l.lock);
    }
    pthread_mutex_unlock(&l.lock);
    /* The exporter now waits on a collector that never answers: ending spans must not. */
    end_spans(p, 5000, "more");
    msb_span_processor_t *proc = msb_tracer_provider_processor(p);
    cr_expect_eq(msb_span_processor_dropped(proc), 5000 - 64, "queue of 64 full, the rest dropped");
    cr_expect_eq(msb_tracer_provider_flush(p, 100), MSB_ETIMEDOUT);
    uint64_t t0 = now_ms();
    msb_tracer_provider_free(p); /* shutdown_timeout_ms = 500 cuts the request short */
    cr_expect_lt(now_ms() - t0, 5000, "shutdown kept its deadline");
    listener_stop(&l);
}

Test(trace_batch, collector_down_fails_after_retries_within_deadline)
{
    /* A port with nothing listening: connection refused, retried until the export deadline. */
    listener_t l;
    static const char *const ok[] = {"HTTP/1.1 200 OK"};
    listener_start(&l, ok, 1);
    int port = l.port;
    listener_stop(&l);
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
    oo.endpoint = url;
    oo.retry_initial_ms = 10;
    oo.retry_max_ms = 40;
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_otlp_exporter_new(&oo, &exp, NULL), MSB_OK);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.export_timeout_ms = 300;
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_batch_processor_new(&bo, exp, &proc, NULL), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "down";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    end_spans(p, 3, "lost");
    msb_status_t rc = msb_tracer_provider_flush(p, 10000);
    cr_expect(rc == MSB_EUNAVAIL || rc == MSB_ETIMEDOUT, "got %s", msb_status_name(rc));
    cr_expect_eq(msb_span_processor_failed(proc), 3);
    msb_tracer_provider_free(p);
}

/* ---- allocation failure -------------------------------------------------------------------- */

static int fail_after = -1;
static int allocs;

static void *fail_malloc(size_t n, void *u)
{
    (void)u;
    if (fail_after >= 0 && allocs++ >= fail_after) {
        return NULL;
    }
    return malloc(n);
}

static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (fail_after >= 0 && allocs++ >= fail_after) {
        return NULL;
    }
    return realloc(p, n);
}

static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

Test(trace_batch, constructors_survive_every_allocation_failure)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    bool completed = false;
    for (int n = 0; n < 100 && !completed; n++) {
        fail_after = n;
        allocs = 0;
        msb_error_t err = MSB_ERROR_INIT;
        msb_span_exporter_t *otlp = NULL;
        msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
        const char *hdrs[] = {"Authorization: Bearer x", NULL};
        oo.endpoint = "http://127.0.0.1:1";
        oo.headers = hdrs;
        oo.gzip = true;
        msb_status_t rc = msb_trace_otlp_exporter_new(&oo, &otlp, &err);
        if (rc != MSB_OK) {
            cr_expect_eq(rc, MSB_ENOMEM, "step %d: %s", n, err.message);
            continue;
        }
        msb_span_processor_t *proc = NULL;
        rc = msb_trace_batch_processor_new(NULL, otlp, &proc, &err);
        if (rc != MSB_OK) {
            cr_expect_eq(rc, MSB_ENOMEM, "step %d: %s", n, err.message);
            msb_span_exporter_free(otlp); /* not taken on failure */
            continue;
        }
        msb_span_exporter_t *log = NULL;
        msb_span_exporter_t *custom = NULL;
        msb_span_processor_t *simple = NULL;
        rc = msb_trace_log_exporter_new(2, &log);
        if (rc == MSB_OK) {
            rc = msb_trace_exporter_new(gated, NULL, &custom);
        }
        if (rc == MSB_OK) {
            rc = msb_trace_simple_processor_new(log, &simple);
        }
        cr_expect(rc == MSB_OK || rc == MSB_ENOMEM, "step %d", n);
        completed = rc == MSB_OK;
        if (simple != NULL) {
            msb_span_processor_free(simple, 0);
        } else {
            msb_span_exporter_free(log);
        }
        msb_span_exporter_free(custom);
        msb_span_processor_free(proc, 0);
    }
    fail_after = -1;
    msb_set_allocator(NULL);
    cr_expect(completed, "never got through without a failure");
}
