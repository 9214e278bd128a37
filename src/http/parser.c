/* The request head: request line (RFC 9112 §3) and field lines (RFC 9112 §5). */
#include <string.h>

#include "http/chars.h"
#include "http/parser.h"

enum { ST_REQUEST_LINE = 0, ST_FIELDS, ST_DONE };

/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line. */
#define MAX_LEADING_EMPTY_LINES 4
/* A method longer than this is not one we could have implemented: 501. */
#define MAX_METHOD_LEN 32

MSB_INTERNAL bool msb__http_parse_finish(char *buf, msb__http_head_t *h, msb__http_perr_t *e);

static int fail(msb__http_perr_t *e, uint16_t status, const char *detail)
{
    e->status = status;
    e->detail = detail;
    return MSB__PARSE_ERROR;
}

bool msb__http_ieq(const char *a, size_t an, const char *b)
{
    size_t i = 0;
    for (; i < an; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c + 32);
        }
        if (b[i] == '\0' || c != b[i]) {
            return false;
        }
    }
    return b[i] == '\0';
}

void msb__http_parser_init(msb__http_parser_t *p, msb__http_head_t *h)
{
    memset(p, 0, sizeof(*p));
    msb__http_field_t *fields = h->fields;
    uint32_t cap = h->fields_cap;
    memset(h, 0, sizeof(*h));
    h->fields = fields;
    h->fields_cap = cap;
    h->host_index = -1;
}

/* Validate path chars (pchar / "/") from i; stop at '?' or n. Returns the stop index or -1. */
static long scan_path(const char *s, size_t i, size_t n)
{
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (msb__is_pchar(c) || c == '/') {
            i++;
        } else if (c == '%') {
            if (i + 2 >= n) {
                return -1;
            }
            if (!msb__is_hex((unsigned char)s[i + 1]) || !msb__is_hex((unsigned char)s[i + 2])) {
                return -1;
            }
            i += 3;
        } else if (c == '?') {
            return (long)i;
        } else {
            return -1;
        }
    }
    return (long)i;
}

/* query = *( pchar / "/" / "?" ) over s[i..n). */
static bool scan_query(const char *s, size_t i, size_t n)
{
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (msb__is_pchar(c) || c == '/' || c == '?') {
            i++;
        } else if (c == '%' && i + 2 < n && msb__is_hex((unsigned char)s[i + 1]) &&
                   msb__is_hex((unsigned char)s[i + 2])) {
            i += 3;
        } else {
            return false;
        }
    }
    return true;
}

/* path-abempty [ "?" query ] starting at t + i, recorded in h. */
static bool parse_path_query(const char *buf, uint32_t t, size_t i, size_t n, msb__http_head_t *h)
{
    const char *s = buf + t;
    long q = scan_path(s, i, n);
    if (q < 0) {
        return false;
    }
    h->path_off = t + (uint32_t)i;
    h->path_len = (uint32_t)((size_t)q - i);
    if ((size_t)q < n) {
        h->has_query = 1;
        h->query_off = t + (uint32_t)q + 1;
        h->query_len = (uint32_t)(n - (size_t)q - 1);
        return scan_query(s, (size_t)q + 1, n);
    }
    return true;
}

static int parse_absolute(char *buf, uint32_t t, size_t n, msb__http_head_t *h, msb__http_perr_t *e)
{
    const char *s = buf + t;
    size_t i;
    if (n > 7 && msb__http_ieq(s, 7, "http://")) {
        i = 7;
    } else if (n > 8 && msb__http_ieq(s, 8, "https://")) {
        i = 8;
    } else {
        return fail(e, 400, "request target is not an origin-form path or an http(s) URI");
    }
    size_t a = i;
    while (i < n && s[i] != '/' && s[i] != '?') {
        i++;
    }
    if (memchr(s + a, '@', i - a) != NULL) {
        return fail(e, 400, "request target URI carries userinfo");
    }
    if (i == a || !msb__http_valid_authority(s + a, i - a, false)) {
        return fail(e, 400, "request target URI has an invalid authority");
    }
    h->form = MSB__FORM_ABSOLUTE;
    h->authority_off = t + (uint32_t)a;
    h->authority_len = (uint32_t)(i - a);
    if (!parse_path_query(buf, t, i, n, h)) {
        return fail(e, 400, "invalid character in request target");
    }
    return MSB__PARSE_MORE;
}

static int parse_target(char *buf, const msb__http_head_t *hm, msb__http_head_t *h,
                        msb__http_perr_t *e)
{
    uint32_t t = hm->target_off;
    size_t n = hm->target_len;
    const char *s = buf + t;
    bool connect = h->method_len == 7 && memcmp(buf + h->method_off, "CONNECT", 7) == 0;
    bool options = h->method_len == 7 && memcmp(buf + h->method_off, "OPTIONS", 7) == 0;
    if (connect) {
        if (!msb__http_valid_authority(s, n, true) || memchr(s, '@', n) != NULL) {
            return fail(e, 400, "CONNECT needs an authority-form target (host:port)");
        }
        h->form = MSB__FORM_AUTHORITY;
        h->authority_off = t;
        h->authority_len = (uint32_t)n;
        return MSB__PARSE_MORE;
    }
    if (n == 1 && s[0] == '*') {
        if (!options) {
            return fail(e, 400, "the asterisk-form target is only for OPTIONS");
        }
        h->form = MSB__FORM_ASTERISK;
        h->path_off = t;
        h->path_len = 1;
        return MSB__PARSE_MORE;
    }
    if (s[0] == '/') {
        h->form = MSB__FORM_ORIGIN;
        if (!parse_path_query(buf, t, 0, n, h)) {
            return fail(e, 400, "invalid character in request target");
        }
        return MSB__PARSE_MORE;
    }
    return parse_absolute(buf, t, n, h, e);
}

static int parse_version(const char *v, size_t n, msb__http_head_t *h, msb__http_perr_t *e)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9') {
        return fail(e, 400, "malformed HTTP version in the request line");
    }
    if (v[5] != '1') {
        return fail(e, 505, "only HTTP/1.x is supported on this port");
    }
    h->minor = v[7] == '0' ? 0 : 1;
    return MSB__PARSE_MORE;
}

static int request_line(char *buf, size_t start, size_t len, msb__http_head_t *h,
                        msb__http_perr_t *e)
{
    const char *s = buf + start;
    size_t i = 0;
    while (i < len && msb__is_tchar((unsigned char)s[i])) {
        i++;
    }
    if (i == 0) {
        return fail(e, 400, "request line does not start with a method token");
    }
    if (i == len || s[i] != ' ') {
        return fail(e, 400, "method not followed by a single space");
    }
    if (i > MAX_METHOD_LEN) {
        return fail(e, 501, "method not implemented");
    }
    h->method_off = (uint32_t)start;
    h->method_len = (uint32_t)i;
    size_t t = ++i;
    while (i < len && s[i] != ' ') {
        i++;
    }
    if (i == t || i == len) {
        return fail(e, 400, "request line needs a target and a version separated by single spaces");
    }
    msb__http_head_t tm = {0};
    tm.target_off = (uint32_t)(start + t);
    tm.target_len = (uint32_t)(i - t);
    int rc = parse_version(s + i + 1, len - i - 1, h, e);
    if (rc != MSB__PARSE_ERROR) {
        rc = parse_target(buf, &tm, h, e);
    }
    if (rc == MSB__PARSE_ERROR) {
        return rc;
    }
    h->target_off = tm.target_off;
    h->target_len = tm.target_len;
    buf[start + h->method_len] = '\0';
    buf[start + i] = '\0';
    buf[start + len] = '\0';
    if (h->has_query) {
        buf[h->query_off - 1] = '\0'; /* the '?': the path becomes a string of its own */
    }
    return MSB__PARSE_MORE;
}

bool msb__http_field_line(const char *s, size_t len, size_t *name_len, size_t *value_off,
                          size_t *value_len, msb__http_perr_t *e)
{
    if (msb__is_ows((unsigned char)s[0])) {
        fail(e, 400, "obsolete line folding (obs-fold) in a header field");
        return false;
    }
    size_t i = 0;
    while (i < len && msb__is_tchar((unsigned char)s[i])) {
        i++;
    }
    if (i == len) {
        fail(e, 400, "header line without a colon");
        return false;
    }
    if (s[i] != ':') {
        if (msb__is_ows((unsigned char)s[i]) && memchr(s + i, ':', len - i) != NULL) {
            fail(e, 400, "whitespace between a header field name and the colon");
        } else if (memchr(s + i, ':', len - i) == NULL) {
            fail(e, 400, "header line without a colon");
        } else {
            fail(e, 400, "invalid character in a header field name");
        }
        return false;
    }
    if (i == 0) {
        fail(e, 400, "empty header field name");
        return false;
    }
    *name_len = i;
    i++;
    while (i < len && msb__is_ows((unsigned char)s[i])) {
        i++;
    }
    size_t v = i;
    for (; i < len; i++) {
        if (!msb__is_value((unsigned char)s[i])) {
            fail(e, 400, "invalid character (CTL) in a header field value");
            return false;
        }
    }
    size_t end = len;
    while (end > v && msb__is_ows((unsigned char)s[end - 1])) {
        end--;
    }
    *value_off = v;
    *value_len = end - v;
    return true;
}

static uint16_t classify(const char *n, size_t len)
{
    switch (len) {
    case 4:
        return msb__http_ieq(n, len, "host") ? MSB__H_HOST : MSB__H_OTHER;
    case 6:
        if (msb__http_ieq(n, len, "expect")) {
            return MSB__H_EXPECT;
        }
        return msb__http_ieq(n, len, "origin") ? MSB__H_ORIGIN : MSB__H_OTHER;
    case 10:
        return msb__http_ieq(n, len, "connection") ? MSB__H_CONNECTION : MSB__H_OTHER;
    case 12:
        if (msb__http_ieq(n, len, "content-type")) {
            return MSB__H_CONTENT_TYPE;
        }
        return msb__http_ieq(n, len, "x-request-id") ? MSB__H_X_REQUEST_ID : MSB__H_OTHER;
    case 14:
        return msb__http_ieq(n, len, "content-length") ? MSB__H_CONTENT_LENGTH : MSB__H_OTHER;
    case 15:
        return msb__http_ieq(n, len, "accept-encoding") ? MSB__H_ACCEPT_ENCODING : MSB__H_OTHER;
    case 17:
        return msb__http_ieq(n, len, "transfer-encoding") ? MSB__H_TRANSFER_ENCODING : MSB__H_OTHER;
    case 29:
        return msb__http_ieq(n, len, "access-control-request-method") ? MSB__H_ACR_METHOD
                                                                      : MSB__H_OTHER;
    case 30:
        return msb__http_ieq(n, len, "access-control-request-headers") ? MSB__H_ACR_HEADERS
                                                                       : MSB__H_OTHER;
    default:
        return MSB__H_OTHER;
    }
}

static int field_line(char *buf, size_t start, size_t len, const msb__http_limits_t *lim,
                      msb__http_head_t *h, msb__http_perr_t *e)
{
    size_t name_len;
    size_t voff;
    size_t vlen;
    if (!msb__http_field_line(buf + start, len, &name_len, &voff, &vlen, e)) {
        return MSB__PARSE_ERROR;
    }
    if (h->nfields >= lim->max_headers || h->nfields >= h->fields_cap) {
        return fail(e, 431, "too many header fields");
    }
    msb__http_field_t *f = &h->fields[h->nfields++];
    f->name_off = (uint32_t)start;
    f->name_len = (uint16_t)name_len;
    f->value_off = (uint32_t)(start + voff);
    f->value_len = (uint32_t)vlen;
    f->id = classify(buf + start, name_len);
    buf[start + name_len] = '\0';
    buf[start + voff + vlen] = '\0';
    return MSB__PARSE_MORE;
}

static int line(msb__http_parser_t *p, char *buf, size_t start, size_t len,
                const msb__http_limits_t *lim, msb__http_head_t *h, msb__http_perr_t *e)
{
    if (p->state == ST_REQUEST_LINE) {
        if (len == 0) {
            if (++p->empty_lines > MAX_LEADING_EMPTY_LINES) {
                return fail(e, 400, "too many empty lines before the request line");
            }
            return MSB__PARSE_MORE;
        }
        if (len > lim->max_request_line) {
            return fail(e, 414, "request line (URI) too long");
        }
        int rc = request_line(buf, start, len, h, e);
        p->state = ST_FIELDS;
        return rc;
    }
    if (len == 0) {
        p->state = ST_DONE;
        return MSB__PARSE_DONE;
    }
    return field_line(buf, start, len, lim, h, e);
}

static int check_partial(const msb__http_parser_t *p, size_t len, const msb__http_limits_t *lim,
                         msb__http_perr_t *e)
{
    if (p->state == ST_REQUEST_LINE) {
        /* +2: the CRLF that would end the line is not part of the limit */
        if (len - p->line_start > (size_t)lim->max_request_line + 1) {
            return fail(e, 414, "request line (URI) too long");
        }
    } else if (len - p->headers_start > (size_t)lim->max_header_bytes + 1) {
        return fail(e, 431, "request header section too large");
    }
    return MSB__PARSE_MORE;
}

int msb__http_parse_head(msb__http_parser_t *p, char *buf, size_t len,
                         const msb__http_limits_t *lim, msb__http_head_t *h, msb__http_perr_t *e)
{
    while (p->pos < len) {
        const char *nl = memchr(buf + p->pos, '\n', len - p->pos);
        if (nl == NULL) {
            p->pos = (uint32_t)len;
            return check_partial(p, len, lim, e);
        }
        size_t end = (size_t)(nl - buf);
        if (end == p->line_start || buf[end - 1] != '\r') {
            return fail(e, 400, "line not terminated by CRLF (bare LF)");
        }
        size_t start = p->line_start;
        int rc = line(p, buf, start, end - 1 - start, lim, h, e);
        p->pos = p->line_start = (uint32_t)(end + 1);
        if (rc == MSB__PARSE_ERROR) {
            return rc;
        }
        if (p->state == ST_FIELDS && p->headers_start == 0) {
            p->headers_start = p->pos;
        }
        if (p->state == ST_FIELDS && p->pos - p->headers_start > lim->max_header_bytes) {
            return fail(e, 431, "request header section too large");
        }
        if (rc == MSB__PARSE_DONE) {
            h->head_len = p->pos;
            return msb__http_parse_finish(buf, h, e) ? MSB__PARSE_DONE : MSB__PARSE_ERROR;
        }
    }
    return MSB__PARSE_MORE;
}
