/* Prometheus' naming rules, and family descriptors built from validated names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"
#include "metrics/internal.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

msb_status_t msb__metric_name_check(const char *what, const char *name, msb_error_t *err)
{
    if (name == NULL || name[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "metrics: %s: a metric name is required", what);
    }
    for (size_t i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (!(is_alpha(c) || c == ':' || (i > 0 && is_digit(c)))) {
            return msb__err(err, MSB_EINVAL,
                            "metrics: invalid metric name \"%.80s\": must match "
                            "[a-zA-Z_:][a-zA-Z0-9_:]*",
                            name);
        }
    }
    if (strncmp(name, "__", 2) == 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: invalid metric name \"%.80s\": names starting with \"__\" are "
                        "reserved",
                        name);
    }
    return MSB_OK;
}

msb_status_t msb__label_name_check(const char *family, const char *name, msb_error_t *err)
{
    if (name == NULL || name[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "metrics: %s: a label name is empty or NULL", family);
    }
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (!(is_alpha(name[i]) || (i > 0 && is_digit(name[i])))) {
            return msb__err(err, MSB_EINVAL,
                            "metrics: %s: invalid label name \"%.80s\": must match "
                            "[a-zA-Z_][a-zA-Z0-9_]*",
                            family, name);
        }
    }
    if (strncmp(name, "__", 2) == 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: %s: invalid label name \"%.80s\": names starting with \"__\" "
                        "are reserved",
                        family, name);
    }
    if (strcmp(name, "le") == 0 || strcmp(name, "quantile") == 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: %s: label name \"%s\" is reserved (histogram and summary "
                        "buckets)",
                        family, name);
    }
    return MSB_OK;
}

msb_status_t msb__label_value_check(const char *family, const char *label, const char *value,
                                    msb_error_t *err)
{
    if (value == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: label \"%s\" has a NULL value", family,
                        label);
    }
    if (!msb__utf8_valid(value, strlen(value))) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: label \"%s\" has a value that is not UTF-8",
                        family, label);
    }
    return MSB_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static msb_status_t check_suffixes(msb_metric_type_t type, const char *name, msb_error_t *err)
{
    static const char *const reserved[] = {"_total", "_created", "_bucket"};
    if (type == MSB_METRIC_COUNTER || type == MSB_METRIC_INFO) {
        return MSB_OK;
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(reserved); i++) {
        if (ends_with(name, reserved[i])) {
            return msb__err(err, MSB_EINVAL,
                            "metrics: %s: only a counter's name may end in \"%s\" (the suffix "
                            "belongs to counter and histogram samples)",
                            name, reserved[i]);
        }
    }
    return MSB_OK;
}

static msb_status_t check_unit(const char *family, const char *unit, msb_error_t *err)
{
    if (unit[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "metrics: %s: the unit is empty (use NULL for none)",
                        family);
    }
    for (size_t i = 0; unit[i] != '\0'; i++) {
        char c = unit[i];
        if (!(is_alpha(c) || is_digit(c) || c == ':')) {
            return msb__err(err, MSB_EINVAL,
                            "metrics: %s: invalid unit \"%.40s\": must match [a-zA-Z0-9_:]+",
                            family, unit);
        }
    }
    size_t n = strlen(family);
    size_t m = strlen(unit);
    if (n < m + 2 || family[n - m - 1] != '_' || strcmp(family + n - m, unit) != 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: %s: the name must end with \"_%s\", its unit (OpenMetrics)",
                        family, unit);
    }
    return MSB_OK;
}

/* The family name: a counter's without "_total", an info's without "_info". */
static msb_status_t family_name(msb_metric_type_t type, const char *name, char **out,
                                msb_error_t *err)
{
    size_t n = strlen(name);
    const char *strip = type == MSB_METRIC_COUNTER ? "_total"
                        : type == MSB_METRIC_INFO  ? "_info"
                                                   : NULL;
    if (strip != NULL && ends_with(name, strip)) {
        n -= strlen(strip);
        if (n == 0) {
            return msb__err(err, MSB_EINVAL, "metrics: invalid metric name \"%s\"", name);
        }
    }
    *out = msb__strndup(name, n);
    return *out != NULL ? MSB_OK : msb__err_nomem(err, "a metric name");
}

static msb_status_t label_names(msb__famdesc_t *d, const char *const *names, size_t n,
                                const msb_metric_label_t *consts, size_t nconst, msb_error_t *err)
{
    if (n + nconst > MSB_METRICS_MAX_LABELS) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: %zu labels, at most %d", d->name, n + nconst,
                        MSB_METRICS_MAX_LABELS);
    }
    if ((n > 0 && names == NULL) || (nconst > 0 && consts == NULL)) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: label count without labels", d->name);
    }
    d->label_names = msb__calloc(n + 1, sizeof(char *));
    d->const_names = msb__calloc(nconst + 1, sizeof(char *));
    d->const_values = msb__calloc(nconst + 1, sizeof(char *));
    if (d->label_names == NULL || d->const_names == NULL || d->const_values == NULL) {
        return msb__err_nomem(err, "label names");
    }
    for (size_t i = 0; i < n + nconst; i++) {
        const char *nm = i < n ? names[i] : consts[i - n].name;
        msb_status_t rc = msb__label_name_check(d->name, nm, err);
        if (rc == MSB_OK && i >= n) {
            rc = msb__label_value_check(d->name, nm, consts[i - n].value, err);
        }
        if (rc != MSB_OK) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            const char *other = j < n ? names[j] : consts[j - n].name;
            if (strcmp(other, nm) == 0) {
                return msb__err(err, MSB_EINVAL, "metrics: %s: label \"%s\" appears twice", d->name,
                                nm);
            }
        }
        char *copy = msb__strdup(nm);
        char *value = i >= n ? msb__strdup(consts[i - n].value) : NULL;
        if (i < n) {
            d->label_names[d->nlabels++] = copy;
        } else {
            d->const_names[d->nconst] = copy;
            d->const_values[d->nconst++] = value;
        }
        if (copy == NULL || (i >= n && value == NULL)) {
            return msb__err_nomem(err, "a label");
        }
    }
    return MSB_OK;
}

msb_status_t msb__famdesc_init(msb__famdesc_t *d, msb_metric_type_t type, const char *name,
                               const char *help, const char *unit, const char *const *names,
                               size_t nlabels, const msb_metric_label_t *consts, size_t nconst,
                               msb_error_t *err)
{
    memset(d, 0, sizeof(*d));
    d->type = type;
    msb_status_t rc = msb__metric_name_check("register", name, err);
    if (rc == MSB_OK) {
        rc = check_suffixes(type, name, err);
    }
    if (rc == MSB_OK) {
        rc = family_name(type, name, &d->name, err);
    }
    if (rc == MSB_OK && unit != NULL) {
        rc = check_unit(d->name, unit, err);
    }
    if (rc == MSB_OK && help != NULL && !msb__utf8_valid(help, strlen(help))) {
        rc = msb__err(err, MSB_EINVAL, "metrics: %s: the help text is not UTF-8", d->name);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    d->help = help != NULL && help[0] != '\0' ? msb__strdup(help) : NULL;
    d->unit = unit != NULL ? msb__strdup(unit) : NULL;
    if ((help != NULL && help[0] != '\0' && d->help == NULL) || (unit != NULL && d->unit == NULL)) {
        return msb__err_nomem(err, "a help text");
    }
    return label_names(d, names, nlabels, consts, nconst, err);
}

msb_status_t msb__famdesc_bounds(msb__famdesc_t *d, const double *b, size_t n, msb_error_t *err)
{
    if (b == NULL) {
        b = msb_metrics_default_buckets(&n);
    }
    if (n > 0 && isinf(b[n - 1]) && b[n - 1] > 0) {
        n--; /* +Inf is implied */
    }
    if (n + 1 > MSB_METRICS_MAX_BUCKETS) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: %zu buckets, at most %d", d->name, n + 1,
                        MSB_METRICS_MAX_BUCKETS);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) {
            return msb__err(err, MSB_EINVAL,
                            "metrics: %s: bucket bound %zu (%g) is not finite and above the "
                            "previous one",
                            d->name, i, b[i]);
        }
    }
    size_t cap = n > MSB__SMALL_BUCKETS ? n : MSB__SMALL_BUCKETS;
    d->bounds = msb__malloc(cap * sizeof(double));
    if (d->bounds == NULL) {
        return msb__err_nomem(err, "bucket bounds");
    }
    for (size_t i = 0; i < cap; i++) {
        d->bounds[i] = i < n ? b[i] : INFINITY;
    }
    d->nbounds = n;
    return MSB_OK;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        msb__free(v[i]);
    }
    msb__free((void *)v);
}

void msb__famdesc_free(msb__famdesc_t *d)
{
    msb__free(d->name);
    msb__free(d->help);
    msb__free(d->unit);
    free_strv(d->label_names, d->nlabels);
    free_strv(d->const_names, d->nconst);
    free_strv(d->const_values, d->nconst);
    msb__free(d->bounds);
    memset(d, 0, sizeof(*d));
}

static size_t suffixes(msb_metric_type_t type, const char **out)
{
    static const char *const counter[] = {"", "_total", "_created"};
    static const char *const histogram[] = {"", "_bucket", "_count", "_sum", "_created"};
    static const char *const info[] = {"", "_info"};
    static const char *const plain[] = {""};
    const char *const *s = plain;
    size_t n = 1;
    if (type == MSB_METRIC_COUNTER) {
        s = counter;
        n = MSB_ARRAY_LEN(counter);
    } else if (type == MSB_METRIC_HISTOGRAM) {
        s = histogram;
        n = MSB_ARRAY_LEN(histogram);
    } else if (type == MSB_METRIC_INFO) {
        s = info;
        n = MSB_ARRAY_LEN(info);
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = s[i];
    }
    return n;
}

static bool concat_eq(const char *a, const char *sa, const char *b, const char *sb)
{
    size_t la = strlen(a);
    size_t lsa = strlen(sa);
    size_t lb = strlen(b);
    size_t lsb = strlen(sb);
    if (la + lsa != lb + lsb) {
        return false;
    }
    for (size_t i = 0; i < la + lsa; i++) {
        char ca = i < la ? a[i] : sa[i - la];
        char cb = i < lb ? b[i] : sb[i - lb];
        if (ca != cb) {
            return false;
        }
    }
    return true;
}

bool msb__famdesc_collide(const msb__famdesc_t *a, const msb__famdesc_t *b)
{
    const char *sa[5];
    const char *sb[5];
    size_t na = suffixes(a->type, sa);
    size_t nb = suffixes(b->type, sb);
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (concat_eq(a->name, sa[i], b->name, sb[j])) {
                return true;
            }
        }
    }
    return false;
}

void msb__famdesc_display(const msb__famdesc_t *d, char *out, size_t size)
{
    const char *suffix = d->type == MSB_METRIC_COUNTER ? "_total"
                         : d->type == MSB_METRIC_INFO  ? "_info"
                                                       : "";
    snprintf(out, size, "%s%s", d->name, suffix);
}
