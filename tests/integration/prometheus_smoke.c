// msb-test: backends curl
/* Prometheus through its HTTP API (libcurl): it runs, scrapes itself, picks up a target dropped
 * into the file_sd directory and scrapes it every second; promtool validates an exposition. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "it_http.h"

#define PROM_DEFAULT "http://127.0.0.1:59090"

static const char *prom(void)
{
    return msb_it_env("MSB_TEST__PROMETHEUS__URL", PROM_DEFAULT);
}

/* GET <prometheus><path> and parse the JSON; NULL when the request failed. */
static json_t *get_json(const char *path, char *err, size_t errlen)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", prom(), path);
    it_http_resp_t r;
    if (!it_http("GET", url, NULL, NULL, &r)) {
        snprintf(err, errlen, "GET %s: %s", url, r.error);
        it_http_resp_free(&r);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loads(r.body != NULL ? r.body : "", 0, &je);
    if (j == NULL) {
        snprintf(err, errlen, "GET %s: status %ld, not JSON: %s", url, r.status, je.text);
    }
    it_http_resp_free(&r);
    return j;
}

/* The value of an instant query's first sample, or NAN when there is none. */
static double query_value(const char *promql)
{
    CURL *h = curl_easy_init();
    char *q = curl_easy_escape(h, promql, 0);
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
    curl_free(q);
    curl_easy_cleanup(h);
    char err[512];
    json_t *j = get_json(path, err, sizeof(err));
    double v = NAN;
    json_t *val = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0),
                        "value"),
        1);
    if (json_is_string(val)) {
        v = strtod(json_string_value(val), NULL);
    }
    json_decref(j);
    return v;
}

struct query_wait {
    const char *promql;
    double want;
};

static bool query_is(void *arg)
{
    struct query_wait *w = arg;
    return query_value(w->promql) == w->want;
}

struct hits_wait {
    msb_it_http_server_t *srv;
    long want;
};

static bool more_hits(void *arg)
{
    struct hits_wait *h = arg;
    return msb_it_http_server_hits(h->srv) >= h->want;
}

Test(prometheus_smoke, runs_and_scrapes_itself, .timeout = 60)
{
    char err[512];
    json_t *j = get_json("/api/v1/status/buildinfo", err, sizeof(err));
    MSB_IT_REQUIRE("prometheus", j != NULL, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "success");
    const char *version = json_string_value(json_object_get(json_object_get(j, "data"), "version"));
    cr_assert(version != NULL && version[0] == '2', "Prometheus 2.x expected, got %s", version);
    json_decref(j);

    struct query_wait w = {"up{job=\"prometheus\"}", 1.0};
    cr_assert(msb_it_wait_until(query_is, &w, 20000, 200), "Prometheus does not scrape itself");
}

Test(prometheus_smoke, scrapes_a_file_sd_target_every_second, .timeout = 90)
{
    char run[96];
    char body[512];
    msb_it_unique(run, sizeof(run), "it_prom");
    snprintf(body, sizeof(body),
             "# HELP msb_it_probe A value served by the integration test.\n"
             "# TYPE msb_it_probe gauge\n"
             "msb_it_probe{run=\"%s\"} 42\n",
             run);
    msb_it_http_server_t *srv = msb_it_http_server_start(body, "text/plain; version=0.0.4");
    cr_assert_not_null(srv, "cannot start the scrape target");
    cr_assert(msb_it_prom_target_add(run, msb_it_http_server_port(srv), run),
              "cannot write the target file");

    char promql[256];
    snprintf(promql, sizeof(promql), "msb_it_probe{run=\"%s\"}", run);
    struct query_wait w = {promql, 42.0};
    bool seen = msb_it_wait_until(query_is, &w, 30000, 250);
    if (!seen) {
        msb_it_prom_target_remove(run);
    }
    cr_assert(
        seen, "the target was not scraped within 30 s (targets dir %s)",
        msb_it_env("MSB_TEST__PROMETHEUS__TARGETS_DIR", "/var/lib/msb-infra/prometheus/targets"));

    /* Scraped every second: three more scrapes arrive within six seconds. */
    struct hits_wait h = {srv, msb_it_http_server_hits(srv) + 3};
    bool every_second = msb_it_wait_until(more_hits, &h, 6000, 50);
    msb_it_prom_target_remove(run);
    cr_assert(every_second, "fewer than 3 scrapes in 6 s (scrape_interval should be 1 s)");
    msb_it_http_server_stop(srv);
}

Test(prometheus_smoke, promtool_checks_an_exposition)
{
    const char *const argv[] = {"promtool", "check", "metrics", NULL};
    char out[4096];
    int rc = msb_it_run(argv,
                        "# HELP msb_ok_total Fine.\n# TYPE msb_ok_total counter\n"
                        "msb_ok_total 1\n",
                        out, sizeof(out));
    cr_assert_eq(rc, 0, "promtool on a valid exposition: exit %d: %s", rc, out);
    rc = msb_it_run(argv, "msb_bad{ 1\n", out, sizeof(out));
    cr_assert_neq(rc, 0, "promtool must reject a broken exposition");
    cr_assert_neq(rc, -1, "promtool could not be run");
}
