/*
 * Content negotiation of the exposition format from an Accept header (RFC 9110, 12.5.1):
 * each format takes the weight of the most specific media range that matches it; the heaviest
 * format wins, the text format on a tie or when nothing matches.
 */
#include <string.h>

#include "core/str.h"
#include "metrics/internal.h"

typedef struct range {
    const char *type;
    size_t type_len;
    const char *sub;
    size_t sub_len;
    const char *version; /* NULL: no version parameter */
    size_t version_len;
    int charset_ok; /* 1 unless a charset other than UTF-8 is named */
    int nparams;    /* version and charset parameters named */
    int q;          /* weight in thousandths; -1: malformed */
} range_t;

typedef struct offer {
    const char *type;
    const char *sub;
    const char *versions[2];
} offer_t;

static const offer_t offers[] = {
    {"text", "plain", {"0.0.4", NULL}},
    {"application", "openmetrics-text", {"1.0.0", "0.0.1"}},
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t token(const char *s, size_t i, size_t end)
{
    while (i < end && is_tchar(s[i])) {
        i++;
    }
    return i;
}

static size_t skip_ows(const char *s, size_t i, size_t end)
{
    while (i < end && is_ows(s[i])) {
        i++;
    }
    return i;
}

/* Weight "0", "0.5", "1.000": in thousandths, -1 when malformed (RFC 9110 qvalue). */
static int parse_q(const char *v, size_t n)
{
    if (n == 0 || (v[0] != '0' && v[0] != '1') || (n > 1 && v[1] != '.') || n > 5) {
        return -1;
    }
    int q = (v[0] - '0') * 1000;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

static void param(range_t *r, const char *name, size_t nl, const char *val, size_t vl)
{
    if (msb__ascii_ieq(name, nl, "q")) {
        r->q = parse_q(val, vl);
    } else if (msb__ascii_ieq(name, nl, "version")) {
        r->version = val;
        r->version_len = vl;
        r->nparams++;
    } else if (msb__ascii_ieq(name, nl, "charset")) {
        r->charset_ok = msb__ascii_ieq(val, vl, "utf-8");
        r->nparams++;
    }
}

/* Parse the parameters of s[i..end); false when malformed. */
static bool parse_params(const char *s, size_t i, size_t end, range_t *r)
{
    bool seen_q = false;
    for (;;) {
        i = skip_ows(s, i, end);
        if (i == end) {
            return true;
        }
        if (s[i] != ';') {
            return false;
        }
        i = skip_ows(s, i + 1, end);
        size_t ns = i;
        i = token(s, i, end);
        size_t nl = i - ns;
        if (nl == 0 || i >= end || s[i] != '=') {
            return false;
        }
        i++;
        size_t vs = i;
        size_t vl;
        if (i < end && s[i] == '"') {
            i++;
            vs = i;
            while (i < end && s[i] != '"') {
                i += s[i] == '\\' && i + 1 < end ? 2 : 1;
            }
            if (i >= end) {
                return false;
            }
            vl = i - vs;
            i++;
        } else {
            i = token(s, i, end);
            vl = i - vs;
        }
        if (!seen_q) { /* after q come accept-ext parameters: not ours */
            param(r, s + ns, nl, s + vs, vl);
        }
        seen_q = seen_q || msb__ascii_ieq(s + ns, nl, "q");
    }
}

static bool parse_range(const char *s, size_t start, size_t end, range_t *r)
{
    memset(r, 0, sizeof(*r));
    r->q = 1000;
    r->charset_ok = 1;
    size_t i = skip_ows(s, start, end);
    r->type = s + i;
    i = token(s, i, end);
    r->type_len = (size_t)(s + i - r->type);
    if (r->type_len == 0 || i >= end || s[i] != '/') {
        return false;
    }
    r->sub = s + ++i;
    i = token(s, i, end);
    r->sub_len = (size_t)(s + i - r->sub);
    if (r->sub_len == 0 || !parse_params(s, i, end, r)) {
        return false;
    }
    return r->q >= 0;
}

/* Specificity of r for offer o: 0 no match, 1 * / *, 2 type / *, 3+ exact (+ parameters). */
static int match(const range_t *r, const offer_t *o)
{
    bool any_type = r->type_len == 1 && r->type[0] == '*';
    bool any_sub = r->sub_len == 1 && r->sub[0] == '*';
    if (any_type) {
        return any_sub ? 1 : 0;
    }
    if (!msb__ascii_ieq(r->type, r->type_len, o->type)) {
        return 0;
    }
    if (any_sub) {
        return 2;
    }
    if (!msb__ascii_ieq(r->sub, r->sub_len, o->sub) || !r->charset_ok) {
        return 0;
    }
    if (r->version != NULL) {
        bool ok = false;
        for (size_t i = 0; i < MSB_ARRAY_LEN(o->versions) && o->versions[i] != NULL; i++) {
            ok = ok || (strlen(o->versions[i]) == r->version_len &&
                        memcmp(o->versions[i], r->version, r->version_len) == 0);
        }
        if (!ok) {
            return 0;
        }
    }
    return 3 + r->nparams;
}

/* Position of the comma ending the media range at i (quoted strings respected). */
static size_t range_end(const char *s, size_t i, size_t n)
{
    bool quoted = false;
    for (; i < n; i++) {
        if (quoted && s[i] == '\\' && i + 1 < n) {
            i++;
        } else if (s[i] == '"') {
            quoted = !quoted;
        } else if (s[i] == ',' && !quoted) {
            break;
        }
    }
    return i;
}

msb_metrics_format_t msb_metrics_negotiate(const char *accept, const char **content_type)
{
    int best_spec[2] = {0, 0};
    int weight[2] = {0, 0};
    size_t n = accept != NULL ? strlen(accept) : 0;
    for (size_t i = 0; i < n;) {
        size_t end = range_end(accept, i, n);
        range_t r;
        if (parse_range(accept, i, end, &r)) {
            for (size_t k = 0; k < 2; k++) {
                int spec = match(&r, &offers[k]);
                if (spec > best_spec[k]) {
                    best_spec[k] = spec;
                    weight[k] = r.q;
                }
            }
        }
        i = end + 1;
    }
    msb_metrics_format_t f =
        weight[1] > weight[0] ? MSB_METRICS_FORMAT_OPENMETRICS : MSB_METRICS_FORMAT_TEXT;
    if (content_type != NULL) {
        *content_type = msb_metrics_content_type(f);
    }
    return f;
}
