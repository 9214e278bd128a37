/* Counters, gauges, histograms and labelled families: values, bounds and lookups. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msb/msb.h"
#include "msb/metrics.h"

static msb_metrics_t *reg;
static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(0, INT64_C(1600000000000000000), &clk), MSB_OK);
    msb_metrics_opts_t mo = MSB_METRICS_OPTS_INIT;
    mo.clock = clk;
    cr_assert_eq(msb_metrics_new(&mo, &reg, NULL), MSB_OK);
}

static void teardown(void)
{
    msb_metrics_free(reg);
    msb_clock_manual_free(clk);
}

TestSuite(metrics_series, .init = setup, .fini = teardown);

static msb_metric_opts_t named(const char *name)
{
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = name;
    o.help = "help";
    return o;
}

Test(metrics_series, counter_adds_integers_and_doubles)
{
    msb_metric_opts_t o = named("c_total");
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, &o, &c, NULL), MSB_OK);
    cr_assert_eq(msb_counter_value(c), 0);
    msb_counter_inc(c);
    msb_counter_add(c, 41);
    cr_assert_eq(msb_counter_value(c), 42);
    cr_assert_eq(msb_counter_add_double(c, 0.5), MSB_OK);
    cr_assert_eq(msb_counter_value(c), 42.5);
    cr_assert_eq(msb_counter_add_double(c, -0.5), MSB_EINVAL);
    cr_assert_eq(msb_counter_add_double(c, NAN), MSB_EINVAL);
    cr_assert_eq(msb_counter_value(c), 42.5);
    cr_assert_eq(msb_counter_add_double(c, 0), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_counter_add_exemplar(c, -1, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: c: a counter cannot go down (add -1)");
    cr_assert_eq(msb_counter_add_exemplar(c, 1, NULL, &err), MSB_OK); /* no exemplar: plain add */
    cr_assert_eq(msb_counter_value(c), 43.5);
}

static void *bump(void *arg)
{
    msb_counter_t *c = arg;
    for (int i = 0; i < 1000; i++) {
        msb_counter_inc(c);
    }
    return NULL;
}

Test(metrics_series, counts_of_exited_threads_are_kept)
{
    msb_metric_opts_t o = named("t_total");
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, &o, &c, NULL), MSB_OK);
    for (int round = 0; round < 5; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(pthread_create(&t[i], NULL, bump, c), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
        }
    }
    cr_assert_eq(msb_counter_value(c), 20000);
}

Test(metrics_series, gauge_set_add)
{
    msb_metric_opts_t o = named("g");
    msb_gauge_t *g;
    cr_assert_eq(msb_gauge_new(reg, &o, &g, NULL), MSB_OK);
    cr_assert_eq(msb_gauge_value(g), 0);
    msb_gauge_set(g, 2.5);
    msb_gauge_add(g, -4);
    cr_assert_eq(msb_gauge_value(g), -1.5);
    msb_gauge_inc(g);
    msb_gauge_inc(g);
    msb_gauge_dec(g);
    cr_assert_eq(msb_gauge_value(g), -0.5);
    msb_clock_manual_advance(clk, 1500 * MSB_MSEC);
    msb_gauge_set_to_current_time(g);
    cr_assert_float_eq(msb_gauge_value(g), 1600000001.5, 1e-6);
}

static msb_histogram_t *hist(const char *name, const double *b, size_t n)
{
    msb_metric_opts_t o = named(name);
    o.buckets = b;
    o.bucket_count = n;
    msb_histogram_t *h;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_histogram_new(reg, &o, &h, &err), MSB_OK, "%s", err.message);
    return h;
}

/* Per-bucket counts, read back through the JSON rendering. */
static void bucket_counts(const char *name, uint64_t *out, size_t n)
{
    char *text;
    cr_assert_eq(msb_metrics_render(reg, MSB_METRICS_FORMAT_TEXT, &text, NULL, NULL), MSB_OK);
    char prefix[128];
    const char *p = text;
    snprintf(prefix, sizeof(prefix), "\n%s_bucket{le=\"", name);
    for (size_t i = 0; i < n; i++) {
        p = strstr(p, prefix);
        cr_assert_not_null(p, "bucket %zu of %s missing", i, name);
        p = strchr(p + 1, '}');
        unsigned long long v = 0;
        cr_assert_eq(sscanf(p + 1, " %llu", &v), 1);
        out[i] = v;
    }
    msb_metrics_text_free(text);
}

Test(metrics_series, histogram_bucket_boundaries)
{
    const double b[] = {1, 2, 5};
    msb_histogram_t *h = hist("h", b, 3);
    const double obs[] = {-INFINITY, 0.5, 1, 1.0000001, 2, 5, 5.5, INFINITY};
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
        msb_histogram_observe(h, obs[i]);
    }
    msb_histogram_observe(h, NAN); /* ignored */
    cr_assert_eq(msb_histogram_count(h), 8);
    uint64_t cum[4];
    bucket_counts("h", cum, 4);
    /* le=1: -Inf, 0.5, 1; le=2: +1.0000001, 2; le=5: +5; +Inf: +5.5, +Inf */
    cr_assert_eq(cum[0], 3);
    cr_assert_eq(cum[1], 5);
    cr_assert_eq(cum[2], 6);
    cr_assert_eq(cum[3], 8);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_histogram_observe_exemplar(h, NAN, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: h: cannot observe NaN");
}

Test(metrics_series, many_buckets_search_matches_linear)
{
    double b[100];
    cr_assert_eq(msb_metrics_buckets_exponential(0.001, 1.2, 100, b), MSB_OK);
    msb_histogram_t *h = hist("big", b, 100);
    uint64_t want[101] = {0};
    double sum = 0;
    for (int i = 0; i < 5000; i++) {
        double v = (double)((i * 7919) % 100000) / 100.0;
        size_t k = 0;
        while (k < 100 && v > b[k]) {
            k++;
        }
        want[k]++;
        sum += v;
        msb_histogram_observe(h, v);
    }
    msb_histogram_observe(h, b[50]); /* exactly on a bound */
    want[50]++;
    sum += b[50];
    uint64_t cum[101];
    bucket_counts("big", cum, 101);
    uint64_t acc = 0;
    for (size_t i = 0; i <= 100; i++) {
        acc += want[i];
        cr_assert_eq(cum[i], acc, "bucket %zu", i);
    }
    cr_assert_float_eq(msb_histogram_sum(h), sum, 1e-6);
}

Test(metrics_series, bucket_helpers)
{
    double out[4];
    cr_assert_eq(msb_metrics_buckets_linear(1, 2, 4, out), MSB_OK);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(out[3], 7);
    cr_assert_eq(msb_metrics_buckets_exponential(1, 10, 4, out), MSB_OK);
    cr_assert_eq(out[3], 1000);
    cr_assert_eq(msb_metrics_buckets_linear(1, 0, 4, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_linear(1, 1, 0, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_linear(NAN, 1, 2, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_linear(1e308, 1e308, 4, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_exponential(0, 2, 4, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_exponential(1, 1, 4, out), MSB_EINVAL);
    cr_assert_eq(msb_metrics_buckets_exponential(1e300, 1e10, 4, out), MSB_EINVAL);
    size_t n;
    const double *d = msb_metrics_default_buckets(&n);
    cr_assert_eq(n, 11);
    cr_assert_eq(d[0], 0.005);
    cr_assert_eq(d[10], 10);
}

Test(metrics_series, vec_lookup_remove_and_bound)
{
    const char *names[] = {"method", "code"};
    msb_metric_opts_t o = named("req_total");
    o.label_names = names;
    o.label_count = 2;
    o.max_series = 3;
    msb_counter_vec_t *v;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &v, NULL), MSB_OK);
    msb_counter_t *a;
    msb_counter_t *a2;
    msb_counter_t *b;
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"GET", "200"}, &a, NULL), MSB_OK);
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"GET", "200"}, &a2, NULL), MSB_OK);
    cr_assert_eq(a, a2);
    /* values are compared whole: ("GE","T200") is another series */
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"GE", "T200"}, &b, NULL), MSB_OK);
    cr_assert_neq(a, b);
    msb_counter_add(a, 5);
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"PUT", "201"}, &b, NULL), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"PUT", "500"}, &b, &err), MSB_ELIMIT);
    cr_assert_str_eq(err.message,
                     "metrics: family req_total reached its bound of 3 series (max_series); new "
                     "label values are refused");
    cr_assert_eq(msb_counter_vec_remove(v, (const char *[]){"PUT", "201"}), MSB_OK);
    cr_assert_eq(msb_counter_vec_remove(v, (const char *[]){"PUT", "201"}), MSB_ENOTFOUND);
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"PUT", "500"}, &b, &err), MSB_OK);
    cr_assert_eq(msb_counter_value(b), 0);
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"GET", "200"}, &a2, NULL), MSB_OK);
    cr_assert_eq(a, a2);
    cr_assert_eq(msb_counter_value(a2), 5);
    cr_assert_eq(msb_counter_vec_remove(NULL, (const char *[]){"a", "b"}), MSB_EINVAL);
    cr_assert_eq(msb_counter_vec_remove(v, NULL), MSB_EINVAL);
}

Test(metrics_series, removed_series_come_back_at_zero)
{
    const char *names[] = {"k"};
    msb_metric_opts_t o = named("hv");
    o.label_names = names;
    o.label_count = 1;
    msb_histogram_vec_t *v;
    cr_assert_eq(msb_histogram_vec_new(reg, &o, &v, NULL), MSB_OK);
    msb_histogram_t *h;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(msb_histogram_vec_get(v, (const char *[]){"x"}, &h, NULL), MSB_OK);
        cr_assert_eq(msb_histogram_count(h), 0, "round %d", round);
        cr_assert_eq(msb_histogram_sum(h), 0);
        msb_histogram_observe(h, 0.3);
        msb_histogram_observe(h, 0.7);
        cr_assert_eq(msb_histogram_count(h), 2);
        cr_assert_eq(msb_histogram_vec_remove(v, (const char *[]){"x"}), MSB_OK);
    }
    msb_gauge_vec_t *gv;
    o = named("gv");
    o.label_names = names;
    o.label_count = 1;
    cr_assert_eq(msb_gauge_vec_new(reg, &o, &gv, NULL), MSB_OK);
    msb_gauge_t *g;
    cr_assert_eq(msb_gauge_vec_get(gv, (const char *[]){"x"}, &g, NULL), MSB_OK);
    msb_gauge_set(g, 3);
    cr_assert_eq(msb_gauge_vec_remove(gv, (const char *[]){"x"}), MSB_OK);
    cr_assert_eq(msb_gauge_vec_get(gv, (const char *[]){"x"}, &g, NULL), MSB_OK);
    cr_assert_eq(msb_gauge_value(g), 0);
}

Test(metrics_series, thousands_of_series_are_found_again)
{
    const char *names[] = {"id", "shard"};
    msb_metric_opts_t o = named("big_total");
    o.label_names = names;
    o.label_count = 2;
    msb_counter_vec_t *v;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &v, NULL), MSB_OK);
    enum { N = 3000 };
    static msb_counter_t *handles[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "user-%d", i);
        cr_assert_eq(msb_counter_vec_get(v, (const char *[]){id, "s"}, &handles[i], NULL), MSB_OK);
        msb_counter_add(handles[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(id, sizeof(id), "user-%d", i);
        cr_assert_eq(msb_counter_vec_remove(v, (const char *[]){id, "s"}), MSB_OK);
    }
    for (int i = 1; i < N; i += 2) {
        msb_counter_t *c;
        snprintf(id, sizeof(id), "user-%d", i);
        cr_assert_eq(msb_counter_vec_get(v, (const char *[]){id, "s"}, &c, NULL), MSB_OK);
        cr_assert_eq(c, handles[i]);
        cr_assert_eq(msb_counter_value(c), i);
    }
    /* a long value takes the other hashing path */
    char longv[2000];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    msb_counter_t *l1;
    msb_counter_t *l2;
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){longv, longv}, &l1, NULL), MSB_OK);
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){longv, longv}, &l2, NULL), MSB_OK);
    cr_assert_eq(l1, l2);
}

Test(metrics_series, exemplar_limits)
{
    msb_metric_opts_t o = named("e_total");
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, &o, &c, NULL), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    /* trace_id (8) + 120 characters = 128: allowed; one more is not */
    char v[122];
    memset(v, 'a', 120);
    v[120] = '\0';
    msb_exemplar_t ex = {.trace_id = v};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &ex, &err), MSB_OK, "%s", err.message);
    v[120] = 'a';
    v[121] = '\0';
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &ex, &err), MSB_ETOOBIG);
    cr_assert_str_eq(
        err.message,
        "metrics: e: exemplar labels exceed 128 UTF-8 characters (OpenMetrics' limit)");
    /* characters, not bytes: 120 two-byte characters fit */
    char wide[241];
    for (int i = 0; i < 120; i++) {
        wide[2 * i] = '\xc3';
        wide[2 * i + 1] = '\xa9';
    }
    wide[240] = '\0';
    ex.trace_id = wide;
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &ex, &err), MSB_OK, "%s", err.message);
    msb_exemplar_t bad = {.trace_id = "\xff"};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &bad, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: e: label \"trace_id\" has a value that is not UTF-8");
    msb_metric_label_t dup[] = {{"trace_id", "x"}};
    msb_exemplar_t d = {.trace_id = "a", .labels = dup, .label_count = 1};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &d, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: e: exemplar label \"trace_id\" appears twice");
    msb_metric_label_t badname[] = {{"1x", "x"}};
    msb_exemplar_t bn = {.labels = badname, .label_count = 1};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &bn, &err), MSB_EINVAL);
    msb_exemplar_t nolabels = {.label_count = 2};
    cr_assert_eq(msb_counter_add_exemplar(c, 1, &nolabels, &err), MSB_EINVAL);
    cr_assert_eq(msb_counter_value(c), 2, "failed exemplars leave the counter unchanged");
    msb_metric_label_t custom[] = {{"user", "u1"}};
    msb_exemplar_t cu = {.labels = custom, .label_count = 1, .timestamp_ns = 2 * MSB_SEC};
    cr_assert_eq(msb_counter_add_exemplar(c, 3, &cu, &err), MSB_OK);
    char *text;
    cr_assert_eq(msb_metrics_render(reg, MSB_METRICS_FORMAT_OPENMETRICS, &text, NULL, NULL),
                 MSB_OK);
    cr_assert_not_null(strstr(text, "e_total 5.0 # {user=\"u1\"} 3.0 2.000\n"), "%s", text);
    msb_metrics_text_free(text);
}

Test(metrics_series, inline_and_exported_paths_agree)
{
    /* 16 bounds: the branchless search at its largest, every boundary and between. */
    double b[16];
    cr_assert_eq(msb_metrics_buckets_linear(1, 1, 16, b), MSB_OK);
    msb_histogram_t *h = hist("h16", b, 16);
    uint64_t want[17] = {0};
    for (int k = 0; k <= 40; k++) {
        double v = k * 0.5;
        size_t i = 0;
        while (i < 16 && v > b[i]) {
            i++;
        }
        want[i] += 2;
        msb_histogram_observe(h, v);   /* the inline fast path (the macro) */
        (msb_histogram_observe)(h, v); /* the exported function */
    }
    uint64_t cum[17];
    bucket_counts("h16", cum, 17);
    uint64_t acc = 0;
    for (size_t i = 0; i <= 16; i++) {
        acc += want[i];
        cr_assert_eq(cum[i], acc, "bucket %zu", i);
    }
    msb_metric_opts_t o = named("both_total");
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, &o, &c, NULL), MSB_OK);
    msb_counter_inc(c);
    (msb_counter_inc)(c);
    msb_counter_add(c, 3);
    (msb_counter_add)(c, 4);
    cr_assert_eq(msb_counter_value(c), 9);
    void (*fn)(msb_counter_t *) = msb_counter_inc; /* the name is a real function too */
    fn(c);
    cr_assert_eq(msb_counter_value(c), 10);
}

Test(metrics_series, counts_survive_fork)
{
    msb_metric_opts_t o = named("forked_total");
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, &o, &c, NULL), MSB_OK);
    msb_counter_add(c, 7);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, bump, c), 0); /* another thread's record too */
    pthread_join(t, NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* the child goes on counting from the parent's totals, and can create series */
        msb_counter_inc(c);
        msb_counter_t *d;
        o.name = "child_total";
        int ok = msb_counter_value(c) == 1008 && msb_counter_new(reg, &o, &d, NULL) == MSB_OK;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw wrong totals");
    cr_assert_eq(msb_counter_value(c), 1007);
}

Test(metrics_series, values_differing_in_one_byte_are_distinct)
{
    const char *names[] = {"v"};
    msb_metric_opts_t o = named("bytes_total");
    o.label_names = names;
    o.label_count = 1;
    msb_counter_vec_t *v;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &v, NULL), MSB_OK);
    /* every length 0..40 (each comparison path), and every position changed once */
    char base[41];
    int series = 0;
    for (size_t len = 0; len <= 40; len++) {
        memset(base, 'a', len);
        base[len] = '\0';
        msb_counter_t *b;
        cr_assert_eq(msb_counter_vec_get(v, (const char *[]){base}, &b, NULL), MSB_OK);
        msb_counter_inc(b);
        series++;
        for (size_t pos = 0; pos < len; pos++) {
            char other[41];
            memcpy(other, base, len + 1);
            other[pos] = 'b';
            msb_counter_t *c;
            cr_assert_eq(msb_counter_vec_get(v, (const char *[]){other}, &c, NULL), MSB_OK);
            cr_assert_neq(c, b, "len %zu pos %zu", len, pos);
            cr_assert_eq(msb_counter_value(c), 0, "len %zu pos %zu: not a new series", len, pos);
            msb_counter_inc(c);
            series++;
        }
        msb_counter_t *again;
        cr_assert_eq(msb_counter_vec_get(v, (const char *[]){base}, &again, NULL), MSB_OK);
        cr_assert_eq(again, b, "len %zu", len);
    }
    char *text;
    cr_assert_eq(msb_metrics_render(reg, MSB_METRICS_FORMAT_TEXT, &text, NULL, NULL), MSB_OK);
    int lines = 0;
    for (const char *p = strstr(text, "bytes_total{"); p != NULL;
         p = strstr(p + 1, "bytes_total{")) {
        lines++;
    }
    cr_assert_eq(lines, series);
    msb_metrics_text_free(text);
}
