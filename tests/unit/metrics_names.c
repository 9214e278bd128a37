/* Every name and label error path of the registry, with its message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msb/msb.h"
#include "msb/metrics.h"

static msb_metrics_t *reg;

static void setup(void)
{
    cr_assert_eq(msb_metrics_new(NULL, &reg, NULL), MSB_OK);
}

static void teardown(void)
{
    msb_metrics_free(reg);
}

TestSuite(metrics_names, .init = setup, .fini = teardown);

typedef enum { COUNTER, GAUGE, HISTOGRAM, COUNTER_VEC, GAUGE_VEC, HISTOGRAM_VEC } kind_t;

static msb_status_t reg_kind(kind_t k, const msb_metric_opts_t *o, msb_error_t *err)
{
    void *out;
    switch (k) {
    case COUNTER:
        return msb_counter_new(reg, o, (msb_counter_t **)&out, err);
    case GAUGE:
        return msb_gauge_new(reg, o, (msb_gauge_t **)&out, err);
    case HISTOGRAM:
        return msb_histogram_new(reg, o, (msb_histogram_t **)&out, err);
    case COUNTER_VEC:
        return msb_counter_vec_new(reg, o, (msb_counter_vec_t **)&out, err);
    case GAUGE_VEC:
        return msb_gauge_vec_new(reg, o, (msb_gauge_vec_t **)&out, err);
    default:
        return msb_histogram_vec_new(reg, o, (msb_histogram_vec_t **)&out, err);
    }
}

static void expect(kind_t k, const msb_metric_opts_t *o, msb_status_t want, const char *msg)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t rc = reg_kind(k, o, &err);
    cr_assert_eq(rc, want, "%s: got %s (%s)", o->name ? o->name : "(null)", msb_status_name(rc),
                 err.message);
    if (msg != NULL) {
        cr_assert_str_eq(err.message, msg);
        cr_assert_eq(err.code, want);
    }
}

static msb_metric_opts_t named(const char *name)
{
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = name;
    o.help = "help";
    return o;
}

Test(metrics_names, metric_names_follow_the_grammar)
{
    msb_metric_opts_t o = named(NULL);
    expect(GAUGE, &o, MSB_EINVAL, "metrics: register: a metric name is required");
    o = named("");
    expect(GAUGE, &o, MSB_EINVAL, "metrics: register: a metric name is required");
    o = named("1abc");
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: invalid metric name \"1abc\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    o = named("a-b");
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: invalid metric name \"a-b\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    o = named("caf\xc3\xa9");
    expect(GAUGE, &o, MSB_EINVAL, NULL);
    o = named("__internal");
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: invalid metric name \"__internal\": names starting with \"__\" are reserved");
    const char *ok[] = {"a", "_a", ":a", "job:rate5m", "A9_b:c", "_"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        o = named(ok[i]);
        expect(GAUGE, &o, MSB_OK, NULL);
    }
}

Test(metrics_names, label_names_follow_the_grammar)
{
    const char *bad[][2] = {
        {"9x", "metrics: m: invalid label name \"9x\": must match [a-zA-Z_][a-zA-Z0-9_]*"},
        {"a:b", "metrics: m: invalid label name \"a:b\": must match [a-zA-Z_][a-zA-Z0-9_]*"},
        {"__x", "metrics: m: invalid label name \"__x\": names starting with \"__\" are reserved"},
        {"le", "metrics: m: label name \"le\" is reserved (histogram and summary buckets)"},
        {"quantile",
         "metrics: m: label name \"quantile\" is reserved (histogram and summary buckets)"},
        {"", "metrics: m: a label name is empty or NULL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_metric_opts_t o = named("m");
        const char *names[] = {bad[i][0]};
        o.label_names = names;
        o.label_count = 1;
        expect(GAUGE_VEC, &o, MSB_EINVAL, bad[i][1]);
    }
    msb_metric_opts_t o = named("m");
    const char *dup[] = {"a", "a"};
    o.label_names = dup;
    o.label_count = 2;
    expect(COUNTER_VEC, &o, MSB_EINVAL, "metrics: m: label \"a\" appears twice");
    o.label_names = NULL;
    expect(COUNTER_VEC, &o, MSB_EINVAL, "metrics: m: label count without labels");
    const char *one[] = {"a"};
    o.label_names = one;
    o.label_count = 1;
    o.const_labels = (const msb_metric_label_t[]){{"a", "x"}};
    o.const_label_count = 1;
    expect(COUNTER_VEC, &o, MSB_EINVAL, "metrics: m: label \"a\" appears twice");
    o.const_labels = (const msb_metric_label_t[]){{"b", "\xff"}};
    expect(COUNTER_VEC, &o, MSB_EINVAL, "metrics: m: label \"b\" has a value that is not UTF-8");
    o.const_labels = (const msb_metric_label_t[]){{"b", NULL}};
    expect(COUNTER_VEC, &o, MSB_EINVAL, "metrics: m: label \"b\" has a NULL value");
}

Test(metrics_names, too_many_labels)
{
    const char *names[MSB_METRICS_MAX_LABELS + 1];
    char store[MSB_METRICS_MAX_LABELS + 1][16];
    for (int i = 0; i <= MSB_METRICS_MAX_LABELS; i++) {
        snprintf(store[i], sizeof(store[i]), "l%d", i);
        names[i] = store[i];
    }
    msb_metric_opts_t o = named("m");
    o.label_names = names;
    o.label_count = MSB_METRICS_MAX_LABELS + 1;
    expect(GAUGE_VEC, &o, MSB_EINVAL, "metrics: m: 33 labels, at most 32");
    o.label_count = MSB_METRICS_MAX_LABELS;
    expect(GAUGE_VEC, &o, MSB_OK, NULL);
}

Test(metrics_names, counter_total_suffix)
{
    msb_metric_opts_t o = named("jobs_total");
    expect(COUNTER, &o, MSB_OK, NULL);
    o = named("jobs");
    expect(COUNTER, &o, MSB_EEXIST,
           "metrics: jobs_total is already registered (it collides with family jobs_total)");
    o = named("_total");
    expect(COUNTER, &o, MSB_EINVAL, "metrics: invalid metric name \"_total\"");
    o = named("queue_total");
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: queue_total: only a counter's name may end in \"_total\" (the suffix belongs "
           "to counter and histogram samples)");
    o = named("start_created");
    expect(HISTOGRAM, &o, MSB_EINVAL, NULL);
    o = named("x_bucket");
    expect(GAUGE, &o, MSB_EINVAL, NULL);
}

Test(metrics_names, duplicates_and_sample_name_collisions)
{
    msb_metric_opts_t o = named("latency_seconds");
    expect(HISTOGRAM, &o, MSB_OK, NULL);
    expect(HISTOGRAM, &o, MSB_EEXIST,
           "metrics: latency_seconds is already registered (it collides with family "
           "latency_seconds)");
    o = named("latency_seconds_count");
    expect(GAUGE, &o, MSB_EEXIST,
           "metrics: latency_seconds_count is already registered (it collides with family "
           "latency_seconds)");
    o = named("latency_seconds_sum");
    /* Its samples would not clash, but its family name is a sample name of the histogram: in
     * OpenMetrics a parser could not tell them apart. */
    expect(COUNTER, &o, MSB_EEXIST,
           "metrics: latency_seconds_sum_total is already registered (it collides with family "
           "latency_seconds)");
    o = named("latency_seconds");
    expect(GAUGE, &o, MSB_EEXIST, NULL);
    o = named("msb_metrics_collector_errors_total");
    expect(COUNTER, &o, MSB_EEXIST, NULL);
}

Test(metrics_names, units_must_end_the_name)
{
    msb_metric_opts_t o = named("latency_seconds");
    o.unit = "milliseconds";
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: latency_seconds: the name must end with \"_milliseconds\", its unit "
           "(OpenMetrics)");
    o.unit = "";
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: latency_seconds: the unit is empty (use NULL for none)");
    o.unit = "se-conds";
    expect(GAUGE, &o, MSB_EINVAL,
           "metrics: latency_seconds: invalid unit \"se-conds\": must match [a-zA-Z0-9_:]+");
    o = named("seconds");
    o.unit = "seconds";
    expect(GAUGE, &o, MSB_EINVAL, NULL);
    o = named("io_bytes_total");
    o.unit = "bytes";
    expect(COUNTER, &o, MSB_OK, NULL);
}

Test(metrics_names, options_are_checked)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb_counter_t *c;
    cr_assert_eq(msb_counter_new(reg, NULL, &c, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: options with a name are required");
    msb_metric_opts_t o = named("m");
    const char *names[] = {"a"};
    o.label_names = names;
    o.label_count = 1;
    expect(COUNTER, &o, MSB_EINVAL,
           "metrics: m: a single series has no label names (use the _vec_new constructor)");
    o.label_count = 0;
    expect(COUNTER_VEC, &o, MSB_EINVAL,
           "metrics: m: a labelled family needs label names (or use the single series "
           "constructor)");
    o = named("m");
    o.max_series = 0;
    expect(COUNTER, &o, MSB_EINVAL, "metrics: m: max_series must be at least 1");
    o = named("m");
    double b[] = {1, 2};
    o.buckets = b;
    o.bucket_count = 2;
    expect(GAUGE, &o, MSB_EINVAL, "metrics: m: buckets are for histograms only");
    o = named("m");
    o.help = "\xc3";
    expect(GAUGE, &o, MSB_EINVAL, "metrics: m: the help text is not UTF-8");
    cr_assert_eq(msb_counter_new(NULL, &o, &c, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: registry is NULL");
}

Test(metrics_names, bucket_bounds_are_checked)
{
    msb_metric_opts_t o = named("h");
    double dec[] = {1, 0.5};
    o.buckets = dec;
    o.bucket_count = 2;
    expect(HISTOGRAM, &o, MSB_EINVAL,
           "metrics: h: bucket bound 1 (0.5) is not finite and above the previous one");
    double dup[] = {1, 1};
    o.buckets = dup;
    expect(HISTOGRAM, &o, MSB_EINVAL, NULL);
    double nan[] = {NAN};
    o.buckets = nan;
    o.bucket_count = 1;
    expect(HISTOGRAM, &o, MSB_EINVAL, NULL);
    double many[MSB_METRICS_MAX_BUCKETS];
    for (int i = 0; i < MSB_METRICS_MAX_BUCKETS; i++) {
        many[i] = i;
    }
    o.buckets = many;
    o.bucket_count = MSB_METRICS_MAX_BUCKETS;
    expect(HISTOGRAM, &o, MSB_EINVAL, "metrics: h: 513 buckets, at most 512");
    o.bucket_count = MSB_METRICS_MAX_BUCKETS - 1;
    expect(HISTOGRAM, &o, MSB_OK, NULL);
    o = named("h2");
    double inf[] = {1, INFINITY};
    o.buckets = inf;
    o.bucket_count = 2;
    expect(HISTOGRAM, &o, MSB_OK, NULL); /* a final +Inf is implied anyway */
}

Test(metrics_names, label_values_are_checked_at_lookup)
{
    msb_metric_opts_t o = named("m");
    const char *names[] = {"a", "b"};
    o.label_names = names;
    o.label_count = 2;
    msb_counter_vec_t *v;
    cr_assert_eq(msb_counter_vec_new(reg, &o, &v, NULL), MSB_OK);
    msb_counter_t *c;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"x", NULL}, &c, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: m: label \"b\" has a NULL value");
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"x", "\xed\xa0\x80"}, &c, &err),
                 MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: m: label \"b\" has a value that is not UTF-8");
    cr_assert_eq(msb_counter_vec_get(v, NULL, &c, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: m: label values are required (2)");
    cr_assert_eq(msb_counter_vec_get(v, (const char *[]){"", "caf\xc3\xa9"}, &c, &err), MSB_OK);
}

Test(metrics_names, unregister)
{
    msb_metric_opts_t o = named("jobs_total");
    expect(COUNTER, &o, MSB_OK, NULL);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_unregister(reg, "jobs_total", &err), MSB_OK);
    cr_assert_eq(msb_metrics_unregister(reg, "jobs_total", &err), MSB_ENOTFOUND);
    cr_assert_str_eq(err.message, "metrics: no family named jobs_total");
    expect(COUNTER, &o, MSB_OK, NULL);
    cr_assert_eq(msb_metrics_unregister(reg, "jobs", &err), MSB_OK); /* the family name */
    cr_assert_eq(msb_metrics_unregister(reg, "msb_metrics_collector_errors_total", &err),
                 MSB_ENOTFOUND);
}
