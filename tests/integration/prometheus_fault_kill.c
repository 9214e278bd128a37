// msb-test: backends curl
/* Prometheus killed with SIGKILL: queries fail while it is down, succeed again once it is back,
 * and samples scraped before the crash are still there (replayed from its write-ahead log). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "it_http.h"

static void restore(void)
{
    msb_it_infra_restore("prometheus");
}

/* Evaluates `timestamp(up{job="prometheus"})` at time @p at: the number of results (-1 when the
 * query failed) and, in *ts, the time of the newest scrape at or before @p at. */
static int samples_at(CURL *h, double at, double *ts)
{
    const char *base = msb_it_env("MSB_TEST__PROMETHEUS__URL", "http://127.0.0.1:59090");
    char url[1024];
    snprintf(url, sizeof(url),
             "%s/api/v1/query?query=timestamp(up%%7Bjob%%3D%%22prometheus%%22%%7D)&time=%.3f", base,
             at);
    it_http_resp_t r;
    if (!it_http_on(h, "GET", url, NULL, NULL, &r) || r.status != 200) {
        it_http_resp_free(&r);
        return -1;
    }
    json_t *j = json_loads(r.body, 0, NULL);
    it_http_resp_free(&r);
    json_t *result = json_object_get(json_object_get(j, "data"), "result");
    int n = (int)json_array_size(result);
    json_t *v = json_array_get(json_object_get(json_array_get(result, 0), "value"), 1);
    if (ts != NULL) {
        *ts = json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
    }
    json_decref(j);
    return n;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct query_wait {
    CURL *h;
    double at;    /* evaluation time */
    double after; /* the sample must be newer than this */
};

static bool has_sample(void *arg)
{
    struct query_wait *w = arg;
    double ts = 0;
    return samples_at(w->h, w->at, &ts) == 1 && ts > w->after;
}

static bool fresh_sample(void *arg)
{
    struct query_wait *w = arg;
    w->at = wall_now();
    return has_sample(w);
}

Test(prometheus_fault, queries_resume_after_kill_and_data_survives, .fini = restore, .timeout = 180)
{
    CURL *h = curl_easy_init();
    struct query_wait w = {h, wall_now(), 0};
    MSB_IT_REQUIRE("prometheus", msb_it_wait_until(has_sample, &w, 20000, 200),
                   "no sample of up{job=\"prometheus\"} at %.0f", w.at);
    double before = w.at;

    MSB_IT_INFRA("kill", "prometheus");
    cr_assert_eq(samples_at(h, before, NULL), -1, "a query must fail while Prometheus is down");
    double killed = wall_now();

    MSB_IT_INFRA("start", "prometheus");
    w.at = before;
    cr_assert(msb_it_wait_until(has_sample, &w, 60000, 200),
              "the sample from before the crash is not queryable 60 s after the restart");
    struct query_wait fresh = {h, 0, killed};
    cr_assert(msb_it_wait_until(fresh_sample, &fresh, 30000, 200),
              "no scrape newer than the crash within 30 s of the restart");
    curl_easy_cleanup(h);
}
