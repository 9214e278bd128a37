/*
 * The fields the server interprets once the head is complete: Host (RFC 9112 §3.2), framing
 * (Content-Length and Transfer-Encoding, RFC 9112 §6), Connection (RFC 9110 §7.6.1) and Expect
 * (RFC 9110 §10.1.1).
 */
#include <string.h>

#include "http/chars.h"
#include "http/parser.h"

MSB_INTERNAL bool msb__http_parse_finish(char *buf, msb__http_head_t *h, msb__http_perr_t *e);

typedef struct framing {
    unsigned hosts;
    unsigned lengths;
    bool length_bad;
    bool te;
    bool te_empty;
    bool te_unknown;
    bool te_bad;
    unsigned chunked;
    bool chunked_last;
    bool expect_bad;
} framing_t;

static bool fail(msb__http_perr_t *e, uint16_t status, const char *detail)
{
    e->status = status;
    e->detail = detail;
    return false;
}

bool msb__http_valid_authority(const char *s, size_t n, bool port_required)
{
    size_t i = 0;
    if (n > 0 && s[0] == '[') {
        i = 1;
        while (i < n && (msb__is_hex((unsigned char)s[i]) || s[i] == ':' || s[i] == '.')) {
            i++;
        }
        if (i == 1 || i == n || s[i] != ']') {
            return false;
        }
        i++;
    } else {
        while (i < n && s[i] != ':') {
            unsigned char c = (unsigned char)s[i];
            if (c == '%') {
                if (i + 2 >= n || !msb__is_hex((unsigned char)s[i + 1]) ||
                    !msb__is_hex((unsigned char)s[i + 2])) {
                    return false;
                }
                i += 3;
            } else if (msb__http_ctab[c] & MSB__C_REGNAME) {
                i++;
            } else {
                return false;
            }
        }
    }
    if (i == n) {
        return !port_required;
    }
    if (s[i] != ':') {
        return false;
    }
    size_t digits = n - i - 1;
    if (digits > 5 || (port_required && digits == 0)) {
        return false;
    }
    for (i++; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/*
 * Walk a comma-separated list (RFC 9110 §5.6.1), skipping empty elements; calls fn with each
 * element trimmed of OWS. Returns false when fn does.
 */
static bool each_element(const char *v, size_t n, bool (*fn)(const char *, size_t, void *),
                         void *arg)
{
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        size_t a = start;
        size_t b = i;
        while (a < b && msb__is_ows((unsigned char)v[a])) {
            a++;
        }
        while (b > a && msb__is_ows((unsigned char)v[b - 1])) {
            b--;
        }
        if (b > a && !fn(v + a, b - a, arg)) {
            return false;
        }
        i++;
    }
    return true;
}

static bool all_tchar(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!msb__is_tchar((unsigned char)s[i])) {
            return false;
        }
    }
    return n > 0;
}

static bool te_element(const char *s, size_t n, void *arg)
{
    framing_t *f = arg;
    f->te_empty = false;
    size_t tok = 0;
    while (tok < n && msb__is_tchar((unsigned char)s[tok])) {
        tok++;
    }
    if (tok == 0) {
        f->te_bad = true;
        return false;
    }
    if (tok == n && msb__http_ieq(s, n, "chunked")) {
        f->chunked++;
        f->chunked_last = true;
        return true;
    }
    /* any other coding, or chunked with parameters (it has none): not implemented */
    f->te_unknown = true;
    f->chunked_last = false;
    return true;
}

static bool connection_element(const char *s, size_t n, void *arg)
{
    msb__http_head_t *h = arg;
    if (!all_tchar(s, n)) {
        return false;
    }
    if (msb__http_ieq(s, n, "close")) {
        h->conn_close = 1;
    } else if (msb__http_ieq(s, n, "keep-alive")) {
        h->conn_keep_alive = 1;
    }
    return true;
}

static bool expect_element(const char *s, size_t n, void *arg)
{
    msb__http_head_t *h = arg;
    if (msb__http_ieq(s, n, "100-continue")) {
        h->expect_continue = 1;
        return true;
    }
    return false;
}

static void content_length(const char *v, size_t n, msb__http_head_t *h, framing_t *f)
{
    if (++f->lengths > 1) {
        return;
    }
    uint64_t x = 0;
    if (n == 0) {
        f->length_bad = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            f->length_bad = true;
            return;
        }
        uint64_t d = (uint64_t)(v[i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d; /* saturate: 413 later */
    }
    h->content_length = x;
}

static bool scan_fields(const char *buf, msb__http_head_t *h, framing_t *f, msb__http_perr_t *e)
{
    for (uint32_t i = 0; i < h->nfields; i++) {
        const msb__http_field_t *fl = &h->fields[i];
        const char *v = buf + fl->value_off;
        switch (fl->id) {
        case MSB__H_HOST:
            f->hosts++;
            h->host_index = (int32_t)i;
            break;
        case MSB__H_CONTENT_LENGTH:
            content_length(v, fl->value_len, h, f);
            break;
        case MSB__H_TRANSFER_ENCODING:
            if (!f->te) {
                f->te_empty = true;
            }
            f->te = true;
            each_element(v, fl->value_len, te_element, f);
            break;
        case MSB__H_CONNECTION:
            if (!each_element(v, fl->value_len, connection_element, h)) {
                return fail(e, 400, "invalid Connection header field");
            }
            break;
        case MSB__H_EXPECT:
            if (!each_element(v, fl->value_len, expect_element, h)) {
                f->expect_bad = true;
            }
            break;
        default:
            break;
        }
    }
    return true;
}

static bool check_framing(msb__http_head_t *h, const framing_t *f, msb__http_perr_t *e)
{
    if (f->te) {
        if (h->minor == 0) {
            return fail(e, 400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        if (f->lengths > 0) {
            return fail(e, 400, "both Transfer-Encoding and Content-Length");
        }
        if (f->te_bad || f->te_empty) {
            return fail(e, 400, "invalid Transfer-Encoding header field");
        }
        if (f->te_unknown && f->chunked_last && f->chunked == 1) {
            return fail(e, 501, "transfer coding not implemented (only chunked is)");
        }
        if (!f->chunked_last || f->chunked != 1) {
            return fail(e, 400, "chunked is not the final transfer coding, exactly once");
        }
        h->framing = MSB__BODY_CHUNKED;
        return true;
    }
    if (f->lengths > 1) {
        return fail(e, 400, "more than one Content-Length header field");
    }
    if (f->length_bad) {
        return fail(e, 400, "Content-Length is not a single decimal number");
    }
    if (f->lengths == 1 && h->content_length > 0) {
        h->framing = MSB__BODY_LENGTH;
    }
    return true;
}

bool msb__http_parse_finish(char *buf, msb__http_head_t *h, msb__http_perr_t *e)
{
    framing_t f = {0};
    if (!scan_fields(buf, h, &f, e)) {
        return false;
    }
    if (f.hosts > 1) {
        return fail(e, 400, "more than one Host header field");
    }
    if (f.hosts == 0 && h->minor == 1) {
        return fail(e, 400, "HTTP/1.1 request without a Host header field");
    }
    if (f.hosts == 1) {
        const msb__http_field_t *hf = &h->fields[h->host_index];
        if (!msb__http_valid_authority(buf + hf->value_off, hf->value_len, false)) {
            return fail(e, 400, "invalid Host header field");
        }
    }
    if (!check_framing(h, &f, e)) {
        return false;
    }
    if (f.expect_bad) {
        return fail(e, 417, "unsupported expectation (only 100-continue is)");
    }
    if (h->minor == 0) {
        h->expect_continue = 0; /* RFC 9110 §10.1.1: ignored in HTTP/1.0 */
    }
    return true;
}
