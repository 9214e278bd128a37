/* Content negotiation of the exposition format: a table of Accept headers and their answers. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "msb/metrics.h"

#define T  MSB_METRICS_FORMAT_TEXT
#define OM MSB_METRICS_FORMAT_OPENMETRICS

typedef struct row {
    const char *accept;
    msb_metrics_format_t want;
} row_t;

static const row_t rows[] = {
    /* what the scrapers send */
    {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
     OM}, /* Prometheus 2.x */
    {"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8,"
     "application/openmetrics-text;version=0.0.1;q=0.8,text/plain;version=1.0.0;"
     "escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
     OM},                                          /* Prometheus 3.x */
    {"text/plain;version=0.0.4;q=1,*/*;q=0.1", T}, /* Prometheus with OpenMetrics turned off */
    {NULL, T},
    {"", T},
    {"*/*", T}, /* a tie: text */
    {"text/plain", T},
    {"application/openmetrics-text", OM},
    {"Application/OpenMetrics-Text; Version=1.0.0", OM}, /* case-insensitive names */
    {"application/openmetrics-text; version=0.0.1", OM},
    /* weights */
    {"text/plain;q=0.5, application/openmetrics-text;q=0.6", OM},
    {"text/plain;q=0.7, application/openmetrics-text;q=0.6", T},
    {"application/openmetrics-text;q=0, */*", T},
    {"text/plain;q=0, */*;q=0.2", OM}, /* text refused outright; OM by the wildcard */
    {"text/plain;q=0.5, application/openmetrics-text;q=0.5", T}, /* a tie: text */
    {"application/openmetrics-text;q=1.000, text/plain;q=0.999", OM},
    /* the most specific range sets the weight */
    {"application/*;q=0.9, application/openmetrics-text;q=0.1, text/*;q=0.5", T},
    {"application/openmetrics-text;version=1.0.0;q=0.9, application/openmetrics-text;q=0.1,"
     "text/plain;q=0.5",
     OM},
    {"application/*, text/plain;q=0.2", OM},
    /* versions and charsets that are not ours do not match */
    {"application/openmetrics-text;version=2.0.0, text/plain;q=0.1", T},
    {"application/openmetrics-text;version=2.0.0", T}, /* nothing acceptable: text */
    {"text/plain;version=0.0.5, application/openmetrics-text;q=0.1", OM},
    {"application/openmetrics-text;charset=latin1, text/plain;q=0.5", T},
    {"application/openmetrics-text;charset=UTF-8;q=0.8, text/plain;q=0.5", OM},
    {"application/openmetrics-text;version=\"1.0.0\"", OM}, /* quoted parameter value */
    /* malformed ranges are ignored, the rest still counts */
    {"garbage, application/openmetrics-text", OM},
    {"application/openmetrics-text;q=2, text/plain;q=0.1", T},
    {"application/openmetrics-text;q=0.12345", T},
    {"application/openmetrics-text;q=abc", T},
    {"application/openmetrics-text;version=\"1.0.0, text/plain", T}, /* unterminated quote */
    {"/plain, application/openmetrics-text;q=0.3", OM},
    {"application/json", T},
    {"application/openmetrics-text ; q=0.4 , text/plain ; q=0.3", OM},    /* optional spaces */
    {"application/openmetrics-text;q=0.4;level=1, text/plain;q=0.3", OM}, /* accept-ext */
    {",,,application/openmetrics-text,,", OM},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Parameters are indices: Criterion runs each test in a new process, where pointers differ. */
static size_t indices[NROWS];

ParameterizedTestParameters(metrics_negotiate, table)
{
    for (size_t i = 0; i < NROWS; i++) {
        indices[i] = i;
    }
    return cr_make_param_array(size_t, indices, NROWS);
}

ParameterizedTest(size_t *index, metrics_negotiate, table)
{
    const row_t *r = &rows[*index];
    const char *ct = NULL;
    msb_metrics_format_t f = msb_metrics_negotiate(r->accept, &ct);
    cr_assert_eq(f, r->want, "Accept: %s -> %d, want %d", r->accept ? r->accept : "(null)", f,
                 r->want);
    cr_assert_str_eq(ct, msb_metrics_content_type(r->want));
}

Test(metrics_negotiate, content_type_is_optional)
{
    cr_assert_eq(msb_metrics_negotiate("application/openmetrics-text", NULL), OM);
}
