/*
 * Writing families in the three formats: Prometheus text 0.0.4, OpenMetrics 1.0 and JSON.
 * The caller walks families and series in order; this file knows only the syntax.
 */
#include <math.h>
#include <string.h>

#include "core/str.h"
#include "metrics/internal.h"

static const char *type_name(msb_metric_type_t t, msb_metrics_format_t fmt)
{
    switch (t) {
    case MSB_METRIC_COUNTER:
        return "counter";
    case MSB_METRIC_GAUGE:
        return "gauge";
    case MSB_METRIC_HISTOGRAM:
        return "histogram";
    case MSB_METRIC_INFO:
        return fmt == MSB_METRICS_FORMAT_TEXT ? "gauge" : "info";
    default:
        return fmt == MSB_METRICS_FORMAT_TEXT ? "untyped" : "unknown";
    }
}

/* Escape for label values (both formats) and OpenMetrics help: \ " and newline. */
static void put_escaped(msb__buf_t *b, const char *s, size_t n, int quote)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" : NULL;
        if (rep == NULL && quote && s[i] == '"') {
            rep = "\\\"";
        }
        if (rep != NULL) {
            msb__buf_append(b, s + start, i - start);
            msb__buf_puts(b, rep);
            start = i + 1;
        }
    }
    msb__buf_append(b, s + start, n - start);
}

/* A float: shortest round-trip form; OpenMetrics wants "1.0", not "1", for integral values. */
static void put_float(msb__buf_t *b, double v, msb_metrics_format_t fmt)
{
    if (isnan(v)) {
        msb__buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        msb__buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[40];
    size_t n = msb__format_double(tmp, sizeof(tmp), v);
    msb__buf_append(b, tmp, n);
    if (fmt == MSB_METRICS_FORMAT_OPENMETRICS && strpbrk(tmp, ".e") == NULL) {
        msb__buf_puts(b, ".0");
    }
}

static void put_seconds(msb__buf_t *b, int64_t ns)
{
    if (ns < 0) {
        ns = 0;
    }
    msb__buf_printf(b, "%lld.%03lld", (long long)(ns / MSB_SEC),
                    (long long)(ns % MSB_SEC / MSB_MSEC));
}

static void put_value(msb__buf_t *b, const msb__view_t *v, msb_metrics_format_t fmt)
{
    if (v->is_int) {
        msb__buf_put_u64(b, v->ivalue);
    } else {
        put_float(b, v->value, fmt);
    }
}

/* {const..., labels..., extra="…"} or nothing when there are no labels. */
static void put_labels(msb__buf_t *b, const msb__famdesc_t *d, const msb__view_t *v,
                       const char *extra, const char *extra_value)
{
    size_t total = d->nconst + d->nlabels + (extra != NULL);
    if (total == 0) {
        return;
    }
    msb__buf_putc(b, '{');
    size_t k = 0;
    for (size_t i = 0; i < d->nconst; i++, k++) {
        msb__buf_printf(b, "%s%s=\"", k > 0 ? "," : "", d->const_names[i]);
        put_escaped(b, d->const_values[i], strlen(d->const_values[i]), 1);
        msb__buf_putc(b, '"');
    }
    for (size_t i = 0; i < d->nlabels; i++, k++) {
        msb__buf_printf(b, "%s%s=\"", k > 0 ? "," : "", d->label_names[i]);
        put_escaped(b, v->values[i], v->lens[i], 1);
        msb__buf_putc(b, '"');
    }
    if (extra != NULL) {
        msb__buf_printf(b, "%s%s=\"%s\"", k > 0 ? "," : "", extra, extra_value);
    }
    msb__buf_putc(b, '}');
}

static void put_exemplar(msb__buf_t *b, const msb__exemplar_copy_t *ex)
{
    if (ex == NULL || !ex->present) {
        return;
    }
    msb__buf_puts(b, " # {");
    for (size_t off = 0, k = 0; off < ex->len; k++) {
        const char *name = ex->raw + off;
        off += strlen(name) + 1;
        const char *value = ex->raw + off;
        size_t vl = strlen(value);
        off += vl + 1;
        msb__buf_printf(b, "%s%s=\"", k > 0 ? "," : "", name);
        put_escaped(b, value, vl, 1);
        msb__buf_putc(b, '"');
    }
    msb__buf_puts(b, "} ");
    put_float(b, ex->value, MSB_METRICS_FORMAT_OPENMETRICS);
    msb__buf_putc(b, ' ');
    put_seconds(b, ex->ts_ns);
}

static void put_line_name(msb__buf_t *b, const msb__famdesc_t *d, const char *suffix)
{
    msb__buf_puts(b, d->name);
    msb__buf_puts(b, suffix);
}

void msb__render_begin(msb__buf_t *b, msb_metrics_format_t fmt)
{
    if (fmt == MSB_METRICS_FORMAT_JSON) {
        msb__buf_puts(b, "{\"families\":[");
    }
}

void msb__render_end(msb__buf_t *b, msb_metrics_format_t fmt)
{
    if (fmt == MSB_METRICS_FORMAT_JSON) {
        msb__buf_puts(b, "\n]}\n");
    } else if (fmt == MSB_METRICS_FORMAT_OPENMETRICS) {
        msb__buf_puts(b, "# EOF\n");
    }
}

static void json_family_begin(msb__buf_t *b, const msb__famdesc_t *d, int first)
{
    char shown[300];
    msb__famdesc_display(d, shown, sizeof(shown));
    msb__buf_puts(b, first ? "\n{\"name\":" : ",\n{\"name\":");
    msb__buf_put_json_str(b, shown, strlen(shown));
    msb__buf_printf(b, ",\"type\":\"%s\"", type_name(d->type, MSB_METRICS_FORMAT_OPENMETRICS));
    if (d->help != NULL) {
        msb__buf_puts(b, ",\"help\":");
        msb__buf_put_json_str(b, d->help, strlen(d->help));
    }
    if (d->unit != NULL) {
        msb__buf_puts(b, ",\"unit\":");
        msb__buf_put_json_str(b, d->unit, strlen(d->unit));
    }
    msb__buf_puts(b, ",\"series\":[");
}

void msb__render_family_begin(msb__buf_t *b, msb_metrics_format_t fmt, const msb__famdesc_t *d,
                              int first)
{
    if (fmt == MSB_METRICS_FORMAT_JSON) {
        json_family_begin(b, d, first);
        return;
    }
    char shown[300];
    msb__famdesc_display(d, shown, sizeof(shown));
    /* Format 0.0.4 names the samples; OpenMetrics names the family. */
    const char *name = fmt == MSB_METRICS_FORMAT_TEXT ? shown : d->name;
    if (d->help != NULL) {
        msb__buf_printf(b, "# HELP %s ", name);
        put_escaped(b, d->help, strlen(d->help), fmt == MSB_METRICS_FORMAT_OPENMETRICS);
        msb__buf_putc(b, '\n');
    }
    msb__buf_printf(b, "# TYPE %s %s\n", name, type_name(d->type, fmt));
    if (fmt == MSB_METRICS_FORMAT_OPENMETRICS && d->unit != NULL) {
        msb__buf_printf(b, "# UNIT %s %s\n", name, d->unit);
    }
}

void msb__render_family_end(msb__buf_t *b, msb_metrics_format_t fmt)
{
    if (fmt == MSB_METRICS_FORMAT_JSON) {
        msb__buf_puts(b, "]}");
    }
}

static void json_labels(msb__buf_t *b, const msb__famdesc_t *d, const msb__view_t *v)
{
    msb__buf_puts(b, "{\"labels\":{");
    size_t k = 0;
    for (size_t i = 0; i < d->nconst; i++, k++) {
        msb__buf_puts(b, k > 0 ? "," : "");
        msb__buf_put_json_str(b, d->const_names[i], strlen(d->const_names[i]));
        msb__buf_putc(b, ':');
        msb__buf_put_json_str(b, d->const_values[i], strlen(d->const_values[i]));
    }
    for (size_t i = 0; i < d->nlabels; i++, k++) {
        msb__buf_puts(b, k > 0 ? "," : "");
        msb__buf_put_json_str(b, d->label_names[i], strlen(d->label_names[i]));
        msb__buf_putc(b, ':');
        msb__buf_put_json_str(b, v->values[i], v->lens[i]);
    }
    msb__buf_putc(b, '}');
}

static void json_number(msb__buf_t *b, double v)
{
    if (isfinite(v)) {
        msb__buf_put_double_json(b, v);
    } else {
        msb__buf_puts(b, isnan(v) ? "\"NaN\"" : v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    }
}

static void json_series(msb__buf_t *b, const msb__famdesc_t *d, const msb__view_t *v, int first)
{
    msb__buf_puts(b, first ? "" : ",");
    json_labels(b, d, v);
    if (d->type != MSB_METRIC_HISTOGRAM) {
        msb__buf_puts(b, ",\"value\":");
        if (d->type == MSB_METRIC_INFO) {
            msb__buf_putc(b, '1');
        } else if (v->is_int) {
            msb__buf_put_u64(b, v->ivalue);
        } else {
            json_number(b, v->value);
        }
        msb__buf_putc(b, '}');
        return;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= d->nbounds; i++) {
        cum += v->buckets[i];
    }
    msb__buf_printf(b, ",\"count\":%llu,\"sum\":", (unsigned long long)cum);
    json_number(b, v->sum);
    msb__buf_puts(b, ",\"buckets\":[");
    cum = 0;
    for (size_t i = 0; i <= d->nbounds; i++) {
        cum += v->buckets[i];
        msb__buf_puts(b, i > 0 ? ",[" : "[");
        json_number(b, i < d->nbounds ? d->bounds[i] : INFINITY);
        msb__buf_printf(b, ",%llu]", (unsigned long long)cum);
    }
    msb__buf_puts(b, "]}");
}

static void histogram_series(msb__buf_t *b, msb_metrics_format_t fmt, const msb__famdesc_t *d,
                             const msb__view_t *v)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= d->nbounds; i++) {
        msb__buf_t le = MSB__BUF_INIT;
        if (i < d->nbounds) {
            put_float(&le, d->bounds[i], fmt);
        } else {
            msb__buf_puts(&le, "+Inf");
        }
        cum += v->buckets[i];
        put_line_name(b, d, "_bucket");
        put_labels(b, d, v, "le", le.data != NULL ? le.data : "");
        msb__buf_printf(b, " %llu", (unsigned long long)cum);
        if (fmt == MSB_METRICS_FORMAT_OPENMETRICS && v->ex != NULL) {
            put_exemplar(b, &v->ex[i]);
        }
        msb__buf_putc(b, '\n');
        if (msb__buf_status(&le) != MSB_OK) {
            b->failed = MSB_ENOMEM;
        }
        msb__buf_free(&le);
    }
    put_line_name(b, d, "_count");
    put_labels(b, d, v, NULL, NULL);
    msb__buf_printf(b, " %llu\n", (unsigned long long)cum);
    put_line_name(b, d, "_sum");
    put_labels(b, d, v, NULL, NULL);
    msb__buf_putc(b, ' ');
    put_float(b, v->sum, fmt);
    msb__buf_putc(b, '\n');
}

void msb__render_series(msb__buf_t *b, msb_metrics_format_t fmt, const msb__famdesc_t *d,
                        const msb__view_t *v, int first, int created)
{
    if (fmt == MSB_METRICS_FORMAT_JSON) {
        json_series(b, d, v, first);
        return;
    }
    if (d->type == MSB_METRIC_HISTOGRAM) {
        histogram_series(b, fmt, d, v);
    } else {
        put_line_name(b, d,
                      d->type == MSB_METRIC_COUNTER ? "_total"
                      : d->type == MSB_METRIC_INFO  ? "_info"
                                                    : "");
        put_labels(b, d, v, NULL, NULL);
        msb__buf_putc(b, ' ');
        if (d->type == MSB_METRIC_INFO) {
            msb__buf_putc(b, '1');
        } else {
            put_value(b, v, fmt);
        }
        if (fmt == MSB_METRICS_FORMAT_OPENMETRICS && d->type == MSB_METRIC_COUNTER) {
            put_exemplar(b, v->ex);
        }
        msb__buf_putc(b, '\n');
    }
    bool has_created = d->type == MSB_METRIC_COUNTER || d->type == MSB_METRIC_HISTOGRAM;
    if (fmt == MSB_METRICS_FORMAT_OPENMETRICS && created && has_created && v->created_ns != 0) {
        put_line_name(b, d, "_created");
        put_labels(b, d, v, NULL, NULL);
        msb__buf_putc(b, ' ');
        put_seconds(b, v->created_ns);
        msb__buf_putc(b, '\n');
    }
}
