/*
 * The chunked transfer coding (RFC 9112 §7.1):
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *
 * Sizes are checked against the body limit digit by digit, so an overflowing size is a 413
 * before it is a number. Extensions are validated and ignored; the trailer section is validated
 * like a header section, limited, and discarded.
 */
#include <string.h>

#include "http/chars.h"
#include "http/parser.h"

enum { CH_SIZE = 0, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_DONE };

/* Longest chunk-size line (size, extensions, CRLF) accepted. */
#define MAX_CHUNK_LINE 4096

static int fail(msb__http_perr_t *e, uint16_t status, const char *detail)
{
    e->status = status;
    e->detail = detail;
    return MSB__PARSE_ERROR;
}

void msb__http_chunked_init(msb__http_chunked_t *d)
{
    memset(d, 0, sizeof(*d));
}

bool msb__http_chunked_done(const msb__http_chunked_t *d)
{
    return d->state == CH_DONE;
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
    while (i < n && msb__is_ows((unsigned char)s[i])) {
        i++;
    }
    return i;
}

static size_t skip_token(const char *s, size_t i, size_t n)
{
    while (i < n && msb__is_tchar((unsigned char)s[i])) {
        i++;
    }
    return i;
}

/* quoted-string at s[i] == '"'; returns the index after the closing quote, 0 if malformed. */
static size_t skip_quoted(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            return i + 1;
        }
        if (c == '\\') {
            if (i + 1 >= n || !(msb__is_value((unsigned char)s[i + 1]))) {
                return 0;
            }
            i++;
        } else if (!(msb__http_ctab[c] & MSB__C_QDTEXT)) {
            return 0;
        }
    }
    return 0;
}

/* chunk-ext over s[i..n); true when well-formed. */
static bool chunk_ext(const char *s, size_t i, size_t n)
{
    while (i < n) {
        i = skip_ows(s, i, n);
        if (i == n || s[i] != ';') {
            return false;
        }
        i = skip_ows(s, i + 1, n);
        size_t t = skip_token(s, i, n);
        if (t == i) {
            return false;
        }
        i = skip_ows(s, t, n);
        if (i < n && s[i] == '=') {
            i = skip_ows(s, i + 1, n);
            if (i < n && s[i] == '"') {
                i = skip_quoted(s, i, n);
                if (i == 0) {
                    return false;
                }
            } else {
                t = skip_token(s, i, n);
                if (t == i) {
                    return false;
                }
                i = t;
            }
        }
    }
    return true;
}

static int size_line(msb__http_chunked_t *d, const msb__http_limits_t *lim, const char *s, size_t n,
                     msb__http_perr_t *e)
{
    uint64_t size = 0;
    size_t i = 0;
    uint64_t room = lim->max_body - d->total;
    for (; i < n && msb__is_hex((unsigned char)s[i]); i++) {
        size = size * 16 + (uint64_t)msb__hexval((unsigned char)s[i]);
        if (size > room) {
            return fail(e, 413, "request body too large (chunk size beyond the limit)");
        }
    }
    if (i == 0) {
        return fail(e, 400, "chunk size is not a hexadecimal number");
    }
    if (!chunk_ext(s, i, n)) {
        return fail(e, 400, "malformed chunk extension");
    }
    d->remaining = size;
    d->state = size == 0 ? CH_TRAILER : CH_DATA;
    return MSB__PARSE_MORE;
}

static int trailer_line(msb__http_chunked_t *d, const msb__http_limits_t *lim, const char *s,
                        size_t n, msb__http_perr_t *e)
{
    if (n == 0) {
        d->state = CH_DONE;
        return MSB__PARSE_DONE;
    }
    size_t name_len;
    size_t voff;
    size_t vlen;
    if (!msb__http_field_line(s, n, &name_len, &voff, &vlen, e)) {
        return MSB__PARSE_ERROR;
    }
    d->trailer_bytes += (uint32_t)n + 2;
    if (++d->trailer_lines > lim->max_headers || d->trailer_bytes > lim->max_header_bytes) {
        return fail(e, 431, "trailer section too large");
    }
    return MSB__PARSE_MORE;
}

/* One CRLF-terminated line at in[pos..); returns its length (CRLF excluded) or -1 (incomplete). */
static long next_line(const char *in, size_t pos, size_t in_len, size_t max, bool trailer,
                      msb__http_perr_t *e, int *rc)
{
    size_t avail = in_len - pos;
    const char *nl = memchr(in + pos, '\n', avail < max ? avail : max);
    if (nl == NULL) {
        *rc = avail < max ? MSB__PARSE_MORE
              : trailer   ? fail(e, 431, "trailer section too large")
                          : fail(e, 400, "chunk size line too long");
        return -1;
    }
    size_t end = (size_t)(nl - in);
    if (end == pos || in[end - 1] != '\r') {
        *rc = fail(e, 400, "chunked body line not terminated by CRLF");
        return -1;
    }
    return (long)(end - 1 - pos);
}

int msb__http_chunked_decode(msb__http_chunked_t *d, const msb__http_limits_t *lim, char *in,
                             size_t in_len, size_t *in_used, char *out, size_t *out_len,
                             msb__http_perr_t *e)
{
    size_t pos = 0;
    int rc = MSB__PARSE_MORE;
    while (pos < in_len && rc == MSB__PARSE_MORE) {
        if (d->state == CH_DATA) {
            size_t n = in_len - pos;
            if (n > d->remaining) {
                n = (size_t)d->remaining;
            }
            memmove(out + *out_len, in + pos, n);
            *out_len += n;
            pos += n;
            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0) {
                d->state = CH_DATA_CRLF;
            }
            continue;
        }
        if (d->state == CH_DATA_CRLF) {
            if (in[pos] != '\r' || (pos + 1 < in_len && in[pos + 1] != '\n')) {
                rc = fail(e, 400, "chunk data not followed by CRLF");
                break;
            }
            if (pos + 1 == in_len) {
                break;
            }
            pos += 2;
            d->state = CH_SIZE;
            continue;
        }
        if (d->state == CH_DONE) {
            break;
        }
        size_t max = d->state == CH_SIZE ? MAX_CHUNK_LINE : (size_t)lim->max_header_bytes + 2;
        long n = next_line(in, pos, in_len, max, d->state == CH_TRAILER, e, &rc);
        if (n < 0) {
            break;
        }
        if (d->state == CH_SIZE) {
            rc = size_line(d, lim, in + pos, (size_t)n, e);
        } else {
            rc = trailer_line(d, lim, in + pos, (size_t)n, e);
        }
        pos += (size_t)n + 2;
    }
    *in_used = pos;
    return rc;
}
