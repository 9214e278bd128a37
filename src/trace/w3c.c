/*
 * W3C Trace Context: `traceparent` (Level 1 and Level 2) and `tracestate`.
 *
 * The grammar is the specification's; comments quote the rule each check implements.
 */
#include <string.h>

#include "core/error.h"
#include "trace/internal.h"

#define TP_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim_ows(const char **p, size_t *n)
{
    while (*n > 0 && is_ows((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*p)[*n - 1])) {
        (*n)--;
    }
}

msb_status_t msb_traceparent_parse(const char *value, size_t len, msb_trace_ctx_t *out,
                                   msb_error_t *err)
{
    if (value == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "traceparent: value and out must not be NULL");
    }
    const char *v = value;
    size_t n = len;
    trim_ows(&v, &n);
    uint8_t version;
    /* "When the version prefix cannot be parsed (it's not 2 hex characters followed by a dash),
     * the implementation should restart the trace." */
    if (n < 3 || !msb__hex_decode_lc(v, 1, &version) || v[2] != '-') {
        return msb__err(err, MSB_EPROTO,
                        "traceparent: expected a version of 2 lowercase hex "
                        "digits followed by '-'");
    }
    if (version == 0xff) {
        return msb__err(err, MSB_EPROTO, "traceparent: version ff is invalid");
    }
    if (version == 0x00 && n != TP_LEN) {
        return msb__err(err, MSB_EPROTO,
                        "traceparent: version 00 must be exactly %d characters, "
                        "got %zu",
                        TP_LEN, n);
    }
    /* A higher version: at least 55 characters, and the flags followed by the end or a dash. */
    if (n < TP_LEN) {
        return msb__err(err, MSB_EPROTO, "traceparent: %zu characters, shorter than 55", n);
    }
    if (n > TP_LEN && v[TP_LEN] != '-') {
        return msb__err(err, MSB_EPROTO,
                        "traceparent: trace-flags must be followed by the end or '-'");
    }
    if (v[35] != '-' || v[52] != '-') {
        return msb__err(err, MSB_EPROTO,
                        "traceparent: fields must be separated by '-' after "
                        "32-digit trace-id and 16-digit parent-id");
    }
    msb_trace_ctx_t ctx;
    uint8_t flags;
    if (!msb__hex_decode_lc(v + 3, 16, ctx.trace_id)) {
        return msb__err(err, MSB_EPROTO, "traceparent: trace-id is not 32 lowercase hex digits");
    }
    if (!msb__hex_decode_lc(v + 36, 8, ctx.span_id)) {
        return msb__err(err, MSB_EPROTO, "traceparent: parent-id is not 16 lowercase hex digits");
    }
    if (!msb__hex_decode_lc(v + 53, 1, &flags)) {
        return msb__err(err, MSB_EPROTO, "traceparent: trace-flags is not 2 lowercase hex digits");
    }
    if (msb__all_zero(ctx.trace_id, 16)) {
        return msb__err(err, MSB_EPROTO, "traceparent: trace-id is all zeros");
    }
    if (msb__all_zero(ctx.span_id, 8)) {
        return msb__err(err, MSB_EPROTO, "traceparent: parent-id is all zeros");
    }
    memcpy(out->trace_id, ctx.trace_id, 16);
    memcpy(out->span_id, ctx.span_id, 8);
    /* "The behavior of other flags is not defined... Vendors MUST set those to zero." */
    out->flags = (uint8_t)(flags & MSB_TRACE_FLAGS_KNOWN);
    out->remote = true;
    out->tracestate_len = 0;
    return MSB_OK;
}

msb_status_t msb_traceparent_format(const msb_trace_ctx_t *ctx, char out[MSB_TRACEPARENT_LEN + 1])
{
    if (!msb_trace_ctx_valid(ctx) || out == NULL) {
        return MSB_EINVAL;
    }
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    msb__hex_encode(ctx->trace_id, 16, out + 3);
    out[35] = '-';
    msb__hex_encode(ctx->span_id, 8, out + 36);
    out[52] = '-';
    uint8_t flags = (uint8_t)(ctx->flags & MSB_TRACE_FLAGS_KNOWN);
    msb__hex_encode(&flags, 1, out + 53);
    return MSB_OK;
}

/* ---- tracestate ------------------------------------------------------------------------- */

typedef struct member {
    const char *p; /* "key=value" */
    size_t len;
    size_t key_len;
} member_t;

static bool is_keychar(char c)
{
    /* keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" */
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/' || c == '@';
}

/* key = ( lcalpha / DIGIT ) 0*255 ( keychar ) */
static bool key_valid(const char *k, size_t n)
{
    if (n == 0 || n > 256) {
        return false;
    }
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9'))) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_keychar(k[i])) {
            return false;
        }
    }
    return true;
}

/* value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr */
static bool value_valid(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
            return false;
        }
    }
    return true;
}

static bool key_eq(const member_t *a, const member_t *b)
{
    return a->key_len == b->key_len && memcmp(a->p, b->p, a->key_len) == 0;
}

static bool has_key(const member_t *m, size_t n, const member_t *x)
{
    for (size_t i = 0; i < n; i++) {
        if (key_eq(&m[i], x)) {
            return true;
        }
    }
    return false;
}

static size_t list_bytes(const member_t *m, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += m[i].len + (i > 0 ? 1 : 0);
    }
    return total;
}

static void remove_at(member_t *m, size_t *n, size_t i)
{
    memmove(&m[i], &m[i + 1], (*n - i - 1) * sizeof(*m));
    (*n)--;
}

/* "Entries larger than 128 characters long SHOULD be removed first. Then entries SHOULD be
 * removed starting from the end of tracestate." */
static void truncate_list(member_t *m, size_t *n)
{
    while (*n > 0 && list_bytes(m, *n) > MSB_TRACESTATE_MAX) {
        size_t victim = *n - 1;
        for (size_t i = *n; i-- > 0;) {
            if (m[i].len > 128) {
                victim = i;
                break;
            }
        }
        remove_at(m, n, victim);
    }
}

static void store_list(msb_trace_ctx_t *ctx, const member_t *m, size_t n)
{
    char tmp[MSB_TRACESTATE_MAX];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            tmp[len++] = ',';
        }
        memcpy(tmp + len, m[i].p, m[i].len);
        len += m[i].len;
    }
    if (len > 0) {
        memcpy(ctx->tracestate, tmp, len);
    }
    ctx->tracestate_len = (uint16_t)len;
}

/* Split the context's (already valid, normalised) list. */
static size_t split_existing(const char *s, size_t len, member_t *m)
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && n < MSB_TRACESTATE_MAX_MEMBERS; i++) {
        if (i == len || s[i] == ',') {
            if (i > start) {
                const char *eq = memchr(s + start, '=', i - start);
                m[n].p = s + start;
                m[n].len = i - start;
                m[n].key_len = eq != NULL ? (size_t)(eq - (s + start)) : i - start;
                n++;
            }
            start = i + 1;
        }
    }
    return n;
}

msb_status_t msb_tracestate_parse(const char *value, size_t len, msb_trace_ctx_t *ctx,
                                  msb_error_t *err)
{
    if (value == NULL || ctx == NULL) {
        return msb__err(err, MSB_EINVAL, "tracestate: value and ctx must not be NULL");
    }
    char old[MSB_TRACESTATE_MAX];
    size_t old_len = ctx->tracestate_len <= MSB_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    memcpy(old, ctx->tracestate, old_len);
    member_t m[MSB_TRACESTATE_MAX_MEMBERS];
    size_t n = split_existing(old, old_len, m);
    size_t count = n; /* list-members seen, duplicates included */
    size_t start = 0;
    size_t index = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && value[i] != ',') {
            continue;
        }
        const char *p = value + start;
        size_t plen = i - start;
        start = i + 1;
        index++;
        trim_ows(&p, &plen);
        if (plen == 0) {
            continue; /* "Empty and whitespace-only list members are allowed." */
        }
        const char *eq = memchr(p, '=', plen);
        member_t x = {p, plen, eq != NULL ? (size_t)(eq - p) : plen};
        if (eq == NULL || !key_valid(p, x.key_len)) {
            ctx->tracestate_len = 0;
            return msb__err(err, MSB_EPROTO, "tracestate: list-member %zu has an invalid key",
                            index);
        }
        if (!value_valid(eq + 1, plen - x.key_len - 1)) {
            ctx->tracestate_len = 0;
            return msb__err(err, MSB_EPROTO, "tracestate: list-member %zu has an invalid value",
                            index);
        }
        if (++count > MSB_TRACESTATE_MAX_MEMBERS) {
            ctx->tracestate_len = 0;
            return msb__err(err, MSB_EPROTO, "tracestate: more than %d list-members",
                            MSB_TRACESTATE_MAX_MEMBERS);
        }
        if (has_key(m, n, &x)) {
            continue; /* one entry per key: the first (left-most) wins */
        }
        m[n++] = x;
    }
    truncate_list(m, &n);
    store_list(ctx, m, n);
    return MSB_OK;
}

msb_status_t msb_tracestate_get(const msb_trace_ctx_t *ctx, const char *key, const char **value,
                                size_t *value_len)
{
    if (ctx == NULL || key == NULL) {
        return MSB_ENOTFOUND;
    }
    member_t m[MSB_TRACESTATE_MAX_MEMBERS];
    size_t n = split_existing(ctx->tracestate, ctx->tracestate_len, m);
    member_t x = {key, strlen(key), strlen(key)};
    for (size_t i = 0; i < n; i++) {
        if (key_eq(&m[i], &x)) {
            if (value != NULL) {
                *value = m[i].p + m[i].key_len + 1;
            }
            if (value_len != NULL) {
                *value_len = m[i].len - m[i].key_len - 1;
            }
            return MSB_OK;
        }
    }
    return MSB_ENOTFOUND;
}

msb_status_t msb_tracestate_set(msb_trace_ctx_t *ctx, const char *key, const char *value,
                                msb_error_t *err)
{
    if (ctx == NULL || key == NULL || value == NULL) {
        return msb__err(err, MSB_EINVAL, "tracestate: ctx, key and value must not be NULL");
    }
    size_t klen = strlen(key);
    size_t vlen = strlen(value);
    if (!key_valid(key, klen)) {
        return msb__err(err, MSB_EINVAL, "tracestate: invalid key \"%.64s\"", key);
    }
    if (!value_valid(value, vlen)) {
        return msb__err(err, MSB_EINVAL, "tracestate: invalid value for key \"%.64s\"", key);
    }
    if (klen + 1 + vlen > MSB_TRACESTATE_MAX) {
        return msb__err(err, MSB_ETOOBIG, "tracestate: entry \"%.64s\" is longer than %d bytes",
                        key, MSB_TRACESTATE_MAX);
    }
    char entry[MSB_TRACESTATE_MAX + 1];
    memcpy(entry, key, klen + 1);
    entry[klen] = '=';
    memcpy(entry + klen + 1, value, vlen + 1);
    char old[MSB_TRACESTATE_MAX];
    size_t old_len = ctx->tracestate_len <= MSB_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    memcpy(old, ctx->tracestate, old_len);
    member_t prev[MSB_TRACESTATE_MAX_MEMBERS];
    size_t np = split_existing(old, old_len, prev);
    member_t m[MSB_TRACESTATE_MAX_MEMBERS];
    m[0] = (member_t){entry, klen + 1 + vlen, klen};
    size_t n = 1;
    for (size_t i = 0; i < np && n < MSB_TRACESTATE_MAX_MEMBERS; i++) {
        if (!key_eq(&prev[i], &m[0])) {
            m[n++] = prev[i];
        }
    }
    /* Adding past the limits removes entries from the right. */
    while (list_bytes(m, n) > MSB_TRACESTATE_MAX) {
        n--;
    }
    store_list(ctx, m, n);
    return MSB_OK;
}

void msb_tracestate_remove(msb_trace_ctx_t *ctx, const char *key)
{
    if (ctx == NULL || key == NULL) {
        return;
    }
    char old[MSB_TRACESTATE_MAX];
    size_t old_len = ctx->tracestate_len <= MSB_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    memcpy(old, ctx->tracestate, old_len);
    member_t m[MSB_TRACESTATE_MAX_MEMBERS];
    size_t n = split_existing(old, old_len, m);
    member_t x = {key, strlen(key), strlen(key)};
    for (size_t i = 0; i < n; i++) {
        if (key_eq(&m[i], &x)) {
            remove_at(m, &n, i);
            break;
        }
    }
    store_list(ctx, m, n);
}
