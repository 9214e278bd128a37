/*
 * A real Prometheus scrapes this process: the test serves its registry on an ephemeral
 * 127.0.0.1 port (a minimal HTTP responder written here, until the HTTP server exists), drops a
 * file_sd target file into MSB_TEST__PROMETHEUS__TARGETS_DIR, and reads the values back through
 * Prometheus' query API, polling with a deadline. Prometheus 2.x asks for OpenMetrics, so the
 * exposition with exemplars, _created samples and # EOF goes through its parser.
 */
// msb-test: backends curl
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/msb.h"
#include "msb/metrics.h"

#define DEADLINE_S 30

/* Fail the test: Prometheus could not be reached (with the detail), and where to look. */
#define prometheus_unreachable(fmt, ...)                                                           \
    cr_assert_fail("prometheus is unreachable (" fmt "): start it with `scripts/infra up "         \
                   "prometheus`, see `scripts/infra logs prometheus`",                             \
                   __VA_ARGS__)

typedef struct server {
    msb_metrics_t *reg;
    int fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    atomic_int scrapes;
    atomic_int openmetrics; /* scrapes that negotiated OpenMetrics */
} server_t;

/* Read the request head; return the Accept value (in buf) or NULL. */
static const char *read_accept(int c, char *buf, size_t size)
{
    size_t n = 0;
    while (n < size - 1 && strstr(buf, "\r\n\r\n") == NULL) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) {
            break;
        }
        ssize_t got = read(c, buf + n, size - 1 - n);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
        buf[n] = '\0';
    }
    for (char *line = strstr(buf, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Accept:", 7) == 0) {
            char *v = line + 9;
            while (*v == ' ') {
                v++;
            }
            char *end = strstr(v, "\r\n");
            if (end != NULL) {
                *end = '\0';
            }
            return v;
        }
    }
    return NULL;
}

static void write_all(int c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(c, p, n);
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void serve_one(server_t *s, int c)
{
    char req[8192] = {0};
    const char *ct;
    msb_metrics_format_t f = msb_metrics_negotiate(read_accept(c, req, sizeof(req)), &ct);
    char *body = NULL;
    size_t len = 0;
    if (msb_metrics_render(s->reg, f, &body, &len, NULL) == MSB_OK) {
        char head[256];
        int hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n",
                          ct, len);
        write_all(c, head, (size_t)hn);
        write_all(c, body, len);
        atomic_fetch_add(&s->scrapes, 1);
        atomic_fetch_add(&s->openmetrics, f == MSB_METRICS_FORMAT_OPENMETRICS);
    }
    msb_metrics_text_free(body);
}

static void *serve(void *arg)
{
    server_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0) {
            serve_one(s, c);
            close(c);
        }
    }
    return NULL;
}

static void server_start(server_t *s, msb_metrics_t *reg)
{
    memset(s, 0, sizeof(*s));
    s->reg = reg;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(s->fd, 16), 0);
    socklen_t al = sizeof(a);
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server_t *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

typedef struct body {
    char *data;
    size_t len;
} body_t;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    body_t *b = user;
    char *d = realloc(b->data, b->len + size * n + 1);
    if (d == NULL) {
        return 0;
    }
    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    d[b->len] = '\0';
    return size * n;
}

/* GET base + path_and_query, parsed as JSON (new reference). */
static json_t *get_json(const char *base, const char *path)
{
    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", base, path);
    body_t b = {NULL, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        free(b.data);
        prometheus_unreachable("%s: %s", url, curl_easy_strerror(rc));
    }
    cr_assert_eq(status, 200, "GET %s: HTTP %ld: %s", url, status, b.data ? b.data : "");
    json_error_t je;
    json_t *doc = json_loads(b.data, 0, &je);
    cr_assert_not_null(doc, "answer of %s is not JSON: %s", url, b.data);
    free(b.data);
    return doc;
}

static char *escaped(const char *s)
{
    CURL *h = curl_easy_init();
    char *e = curl_easy_escape(h, s, 0);
    char *copy = strdup(e);
    curl_free(e);
    curl_easy_cleanup(h);
    return copy;
}

/* The value of an instant query's single result, or NAN when there is none (yet). */
static double query(const char *base, const char *promql)
{
    char path[1024];
    char *q = escaped(promql);
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
    free(q);
    json_t *doc = get_json(base, path);
    json_t *result = json_object_get(json_object_get(doc, "data"), "result");
    double v = NAN;
    if (json_array_size(result) == 1) {
        const char *s = json_string_value(
            json_array_get(json_object_get(json_array_get(result, 0), "value"), 1));
        v = s != NULL ? strtod(s, NULL) : NAN;
    }
    json_decref(doc);
    return v;
}

/* Whether this Prometheus keeps exemplars (--enable-feature=exemplar-storage). */
static bool stores_exemplars(const char *base)
{
    json_t *doc = get_json(base, "/api/v1/status/flags");
    const char *f =
        json_string_value(json_object_get(json_object_get(doc, "data"), "enable-feature"));
    bool on = f != NULL && strstr(f, "exemplar-storage") != NULL;
    json_decref(doc);
    return on;
}

/* The trace_id of the first exemplar of the series selected by promql, or "" (static buffer). */
static const char *exemplar_trace(const char *base, const char *promql)
{
    static char trace[128];
    char path[1024];
    char *q = escaped(promql);
    long now = (long)time(NULL);
    snprintf(path, sizeof(path), "/api/v1/query_exemplars?query=%s&start=%ld&end=%ld", q, now - 600,
             now + 60);
    free(q);
    json_t *doc = get_json(base, path);
    json_t *ex = json_object_get(json_array_get(json_object_get(doc, "data"), 0), "exemplars");
    const char *t = json_string_value(
        json_object_get(json_object_get(json_array_get(ex, 0), "labels"), "trace_id"));
    snprintf(trace, sizeof(trace), "%s", t != NULL ? t : "");
    json_decref(doc);
    return trace;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll until the query gives `want` (or the deadline passes); return the last value seen. */
static double await_value(const char *base, const char *promql, double want)
{
    double deadline = now_s() + DEADLINE_S;
    double v = NAN;
    struct timespec pause = {0, 200 * 1000 * 1000};
    while (now_s() < deadline) {
        v = query(base, promql);
        if (v == want) {
            return v;
        }
        nanosleep(&pause, NULL); /* Prometheus scrapes every second: nothing to wait on here */
    }
    return v;
}

static void write_target(const char *dir, const char *job, int port, char *path, size_t size)
{
    char tmp[1024];
    snprintf(path, size, "%s/%s.json", dir, job);
    snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", dir, job);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f,
                       "cannot write the target file in %s (%s): is prometheus up? see "
                       "`scripts/infra logs prometheus`",
                       dir, strerror(errno));
    fprintf(f, "[{\"targets\": [\"127.0.0.1:%d\"], \"labels\": {\"job\": \"%s\"}}]\n", port, job);
    fclose(f);
    cr_assert_eq(rename(tmp, path), 0); /* Prometheus never reads a half-written file */
}

Test(prometheus_scrape, prometheus_reads_back_our_values)
{
    const char *base = msb_it_env("MSB_TEST__PROMETHEUS__URL", "http://127.0.0.1:59090");
    const char *dir =
        msb_it_env("MSB_TEST__PROMETHEUS__TARGETS_DIR", "/var/lib/msb-infra/prometheus/targets");
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    query(base, "up"); /* fails here, naming prometheus, when it is down */

    msb_metrics_t *reg;
    cr_assert_eq(msb_metrics_new(NULL, &reg, NULL), MSB_OK);
    const char *labels[] = {"route"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "msb_it_requests_total";
    o.help = "Requests, by route.";
    o.label_names = labels;
    o.label_count = 1;
    msb_counter_vec_t *req;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &req, NULL), MSB_OK);
    msb_counter_t *users;
    cr_assert_eq(msb_counter_vec_get(req, (const char *[]){"/users"}, &users, NULL), MSB_OK);
    msb_exemplar_t ex = {.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                         .span_id = "00f067aa0ba902b7"};
    msb_counter_add(users, 41);
    cr_assert_eq(msb_counter_add_exemplar(users, 1, &ex, NULL), MSB_OK);
    msb_metric_opts_t h = MSB_METRIC_OPTS_INIT;
    h.name = "msb_it_latency_seconds";
    h.help = "Latency.";
    h.unit = "seconds";
    msb_histogram_t *lat;
    cr_assert_eq(msb_histogram_new(reg, &h, &lat, NULL), MSB_OK);
    for (int i = 0; i < 7; i++) {
        msb_histogram_observe(lat, 0.02 * i);
    }
    cr_assert_eq(msb_histogram_observe_exemplar(lat, 0.3, &ex, NULL), MSB_OK);
    cr_assert_eq(msb_metrics_process_collector_add(reg, NULL, NULL), MSB_OK);
    cr_assert_eq(msb_metrics_build_info_add(reg, NULL, 0, NULL), MSB_OK);

    server_t srv;
    server_start(&srv, reg);
    char job[64];
    snprintf(job, sizeof(job), "msb_it_scrape_%d", (int)getpid());
    char target[1024];
    write_target(dir, job, srv.port, target, sizeof(target));

    char q[256];
    snprintf(q, sizeof(q), "up{job=\"%s\"}", job);
    double up = await_value(base, q, 1);
    snprintf(q, sizeof(q), "msb_it_requests_total{job=\"%s\",route=\"/users\"}", job);
    double first = await_value(base, q, 42);
    msb_counter_add(users, 8); /* a live value: the next scrapes must see it */
    double second = await_value(base, q, 50);
    snprintf(q, sizeof(q), "msb_it_latency_seconds_count{job=\"%s\"}", job);
    double count = await_value(base, q, 8);
    snprintf(q, sizeof(q), "msb_it_latency_seconds_bucket{job=\"%s\",le=\"0.1\"}", job);
    double le01 = await_value(base, q, 6);
    snprintf(q, sizeof(q), "process_open_fds{job=\"%s\"} > 0", job);
    double fds = query(base, q);
    snprintf(q, sizeof(q), "msb_build_info{job=\"%s\",version=\"%s\"}", job, msb_version());
    double info = await_value(base, q, 1);
    /* scripts/infra runs Prometheus with exemplar storage: read the exemplars back. */
    char counter_trace[128] = "";
    char bucket_trace[128] = "";
    bool exemplars = stores_exemplars(base);
    if (exemplars) {
        snprintf(q, sizeof(q), "msb_it_requests_total{job=\"%s\"}", job);
        snprintf(counter_trace, sizeof(counter_trace), "%s", exemplar_trace(base, q));
        snprintf(q, sizeof(q), "msb_it_latency_seconds_bucket{job=\"%s\",le=\"0.5\"}", job);
        snprintf(bucket_trace, sizeof(bucket_trace), "%s", exemplar_trace(base, q));
    }

    unlink(target);
    server_stop(&srv);
    msb_metrics_free(reg);
    curl_global_cleanup();

    cr_assert_eq(up, 1, "Prometheus did not scrape 127.0.0.1:%d (up=%g)", srv.port, up);
    cr_assert_eq(first, 42, "msb_it_requests_total read back as %g", first);
    cr_assert_eq(second, 50, "msb_it_requests_total after the increment read back as %g", second);
    cr_assert_eq(count, 8, "histogram count read back as %g", count);
    cr_assert_eq(le01, 6, "bucket le=0.1 read back as %g", le01);
    cr_assert(fds > 0, "process_open_fds read back as %g", fds);
    cr_assert_eq(info, 1);
    cr_assert(exemplars,
              "Prometheus at %s does not store exemplars: it must run with "
              "--enable-feature=exemplar-storage (scripts/infra restart prometheus)",
              base);
    cr_assert_str_eq(counter_trace, ex.trace_id, "counter exemplar not stored");
    cr_assert_str_eq(bucket_trace, ex.trace_id, "bucket exemplar not stored");
    cr_assert_gt(atomic_load(&srv.openmetrics), 0,
                 "Prometheus never negotiated OpenMetrics (%d scrapes)", atomic_load(&srv.scrapes));
}
