/*
 * Exposition: a fixed registry rendered in each format and compared byte for byte with the
 * golden files in data/metrics/, and the text format passed through `promtool check metrics`.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics_testutil.h"
#include "msb/msb.h"
#include "msb/metrics.h"

static msb_clock_t *clk;
static msb_metrics_t *reg;

static msb_status_t collect(msb_metrics_writer_t *w, void *user)
{
    (void)user;
    const char *queue[] = {"queue"};
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_GAUGE, "pool_in_use", "Connections in use.",
                                          NULL, queue, 1),
                 MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"b"}, 3), MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"a"}, 7), MSB_OK);
    cr_assert_eq(
        msb_metrics_write_family(w, MSB_METRIC_UNKNOWN, "legacy_value", "Untyped.", NULL, NULL, 0),
        MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, NULL, -1.5), MSB_OK);
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_HISTOGRAM, "batch_size", "Batch sizes.",
                                          NULL, NULL, 0),
                 MSB_OK);
    const double bounds[] = {1, 10};
    const uint64_t counts[] = {2, 3, 1};
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, bounds, counts, 2, 31), MSB_OK);
    return MSB_OK;
}

static void build(void)
{
    cr_assert_eq(msb_clock_manual_new(0, INT64_C(1700000000123456789), &clk), MSB_OK);
    msb_metrics_opts_t mo = MSB_METRICS_OPTS_INIT;
    mo.clock = clk;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_new(&mo, &reg, &err), MSB_OK, "%s", err.message);

    const char *names[] = {"method", "code"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "http_requests_total";
    o.help = "HTTP requests \"served\",\nby method \\ code.";
    o.label_names = names;
    o.label_count = 2;
    msb_counter_vec_t *req;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &req, &err), MSB_OK, "%s", err.message);
    msb_counter_t *c;
    cr_assert_eq(msb_counter_vec_get(req, (const char *[]){"POST", "500"}, &c, &err), MSB_OK);
    msb_counter_add(c, 2);
    msb_exemplar_t ex = {.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                         .span_id = "00f067aa0ba902b7"};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &ex, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_counter_vec_get(req, (const char *[]){"GET", "200"}, &c, &err), MSB_OK);
    msb_counter_add(c, 1027);
    cr_assert_eq(msb_counter_vec_get(req, (const char *[]){"GET", "a\"b\\c\nd"}, &c, &err), MSB_OK);
    msb_counter_inc(c);

    msb_metric_opts_t b = MSB_METRIC_OPTS_INIT;
    b.name = "sent_bytes_total";
    b.help = "Bytes sent.";
    b.unit = "bytes";
    b.const_labels = (const msb_metric_label_t[]){{"instance_role", "primary"}};
    b.const_label_count = 1;
    cr_assert_eq(msb_counter_new(reg, &b, &c, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_counter_add_double(c, 1.5), MSB_OK);
    msb_counter_add(c, 2);

    msb_metric_opts_t g = MSB_METRIC_OPTS_INIT;
    g.name = "temperature_celsius";
    g.help = "Temperature.";
    g.unit = "celsius";
    msb_gauge_t *gauge;
    cr_assert_eq(msb_gauge_new(reg, &g, &gauge, &err), MSB_OK, "%s", err.message);
    msb_gauge_set(gauge, -3.25);
    g.name = "limit_ratio";
    g.unit = "ratio";
    g.help = "A limit.";
    cr_assert_eq(msb_gauge_new(reg, &g, &gauge, &err), MSB_OK, "%s", err.message);
    msb_gauge_set(gauge, INFINITY);

    double bounds[3];
    cr_assert_eq(msb_metrics_buckets_linear(0.5, 0.5, 3, bounds), MSB_OK);
    const char *route[] = {"route"};
    msb_metric_opts_t h = MSB_METRIC_OPTS_INIT;
    h.name = "request_duration_seconds";
    h.help = "Request latency.";
    h.unit = "seconds";
    h.label_names = route;
    h.label_count = 1;
    h.buckets = bounds;
    h.bucket_count = 3;
    msb_histogram_vec_t *hv;
    cr_assert_eq(msb_histogram_vec_new(reg, &h, &hv, &err), MSB_OK, "%s", err.message);
    msb_histogram_t *hist;
    cr_assert_eq(msb_histogram_vec_get(hv, (const char *[]){"/users"}, &hist, &err), MSB_OK);
    msb_histogram_observe(hist, 0.25);
    msb_histogram_observe(hist, 1.0);
    msb_histogram_observe(hist, 7);
    msb_exemplar_t hex = {.trace_id = "0af7651916cd43dd8448eb211c80319c",
                          .span_id = "b7ad6b7169203331",
                          .timestamp_ns = INT64_C(1700000001500000000)};
    cr_assert_eq(msb_histogram_observe_exemplar(hist, 1.25, &hex, &err), MSB_OK, "%s", err.message);

    msb_metric_label_t info[] = {{"service", "orders"}};
    cr_assert_eq(msb_metrics_build_info_add(reg, info, 1, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_metrics_collector_add(reg, "test", collect, NULL, NULL, &err), MSB_OK);
}

static void teardown(void)
{
    msb_metrics_free(reg);
    msb_clock_manual_free(clk);
}

TestSuite(metrics_expo, .init = build, .fini = teardown);

static char *render(msb_metrics_format_t f, size_t *len)
{
    char *text = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_render(reg, f, &text, len, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(strlen(text), *len);
    return text;
}

/* Compare with the golden; MSB_UPDATE_GOLDEN=1 rewrites it instead (then review the diff). */
static void golden(const char *file, const char *text)
{
    char path[4096];
    metrics_data_path(file, path, sizeof(path));
    if (getenv("MSB_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot write %s", path);
        const char *v = msb_version();
        for (const char *t = text; *t != '\0';) { /* the version as @VERSION@ */
            if (strncmp(t, v, strlen(v)) == 0) {
                fputs("@VERSION@", f);
                t += strlen(v);
            } else {
                fputc(*t++, f);
            }
        }
        fclose(f);
    }
    char *raw = metrics_read_file(path, NULL);
    cr_assert_not_null(raw, "golden file %s missing", path);
    char *want = metrics_expand_version(raw);
    char *got = metrics_expand_version(text);
    cr_assert_str_eq(got, want, "exposition differs from %s", path);
    free(raw);
    free(want);
    free(got);
}

static int promtool(const char *text, char *out, size_t size)
{
    char tmp[] = "/tmp/msb_metrics_XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", tmp);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run promtool (Debian package prometheus)");
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    unlink(tmp);
    return rc;
}

Test(metrics_expo, text_matches_golden_and_promtool)
{
    size_t len;
    char *text = render(MSB_METRICS_FORMAT_TEXT, &len);
    golden("registry.txt", text);
    char out[4096];
    int rc = promtool(text, out, sizeof(out));
    cr_assert_eq(rc, 0, "promtool check metrics failed (%d): %s", rc, out);
    msb_metrics_text_free(text);
}

Test(metrics_expo, openmetrics_matches_golden)
{
    size_t len;
    char *text = render(MSB_METRICS_FORMAT_OPENMETRICS, &len);
    golden("registry.om.txt", text);
    cr_assert_geq(len, 6);
    cr_assert_str_eq(text + len - 6, "# EOF\n", "OpenMetrics must end with # EOF");
    cr_assert_not_null(strstr(text, "} 3.0 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
                                    "span_id=\"00f067aa0ba902b7\"} 1.0 1700000000.123\n"));
    cr_assert_not_null(strstr(text, "_bucket{route=\"/users\",le=\"1.5\"} 3 # {trace_id="));
    msb_metrics_text_free(text);
}

Test(metrics_expo, json_matches_golden)
{
    size_t len;
    char *text = render(MSB_METRICS_FORMAT_JSON, &len);
    golden("registry.json", text);
    msb_metrics_text_free(text);
}

Test(metrics_expo, counters_keep_total_suffix_in_both_formats)
{
    size_t len;
    char *t = render(MSB_METRICS_FORMAT_TEXT, &len);
    char *om = render(MSB_METRICS_FORMAT_OPENMETRICS, &len);
    cr_assert_not_null(strstr(t, "# TYPE http_requests_total counter\n"));
    cr_assert_not_null(strstr(om, "# TYPE http_requests counter\n"));
    cr_assert_not_null(strstr(om, "http_requests_created{method=\"GET\",code=\"200\"} "));
    cr_assert_null(strstr(t, "_created"), "format 0.0.4 has no _created samples");
    cr_assert_null(strstr(t, "# {"), "format 0.0.4 has no exemplars");
    msb_metrics_text_free(t);
    msb_metrics_text_free(om);
}

Test(metrics_expo, created_samples_can_be_turned_off)
{
    msb_metrics_t *r;
    msb_metrics_opts_t mo = MSB_METRICS_OPTS_INIT;
    mo.created_samples = 0;
    cr_assert_eq(msb_metrics_new(&mo, &r, NULL), MSB_OK);
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "x_total";
    o.help = "x";
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(r, &o, &c, NULL), MSB_OK);
    char *text;
    cr_assert_eq(msb_metrics_render(r, MSB_METRICS_FORMAT_OPENMETRICS, &text, NULL, NULL), MSB_OK);
    cr_assert_str_eq(text, "# HELP x x\n# TYPE x counter\nx_total 0\n# EOF\n");
    msb_metrics_text_free(text);
    msb_metrics_free(r);
}

Test(metrics_expo, empty_registry_is_valid)
{
    msb_metrics_t *r;
    cr_assert_eq(msb_metrics_new(NULL, &r, NULL), MSB_OK);
    char *text;
    cr_assert_eq(msb_metrics_render(r, MSB_METRICS_FORMAT_TEXT, &text, NULL, NULL), MSB_OK);
    cr_assert_str_eq(text, "");
    msb_metrics_text_free(text);
    cr_assert_eq(msb_metrics_render(r, MSB_METRICS_FORMAT_OPENMETRICS, &text, NULL, NULL), MSB_OK);
    cr_assert_str_eq(text, "# EOF\n");
    msb_metrics_text_free(text);
    cr_assert_eq(msb_metrics_render(r, MSB_METRICS_FORMAT_JSON, &text, NULL, NULL), MSB_OK);
    cr_assert_str_eq(text, "{\"families\":[\n]}\n");
    msb_metrics_text_free(text);
    cr_assert_eq(msb_metrics_render(r, (msb_metrics_format_t)7, &text, NULL, NULL), MSB_EINVAL);
    msb_metrics_free(r);
}

Test(metrics_expo, content_types)
{
    cr_assert_str_eq(msb_metrics_content_type(MSB_METRICS_FORMAT_TEXT),
                     "text/plain; version=0.0.4; charset=utf-8");
    cr_assert_str_eq(msb_metrics_content_type(MSB_METRICS_FORMAT_OPENMETRICS),
                     "application/openmetrics-text; version=1.0.0; charset=utf-8");
    cr_assert_str_eq(msb_metrics_content_type(MSB_METRICS_FORMAT_JSON), "application/json");
}
