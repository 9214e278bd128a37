/*
 * URLs and header lines of requests: the checks made before anything is sent, and the redacted
 * form of a URL that errors, logs and spans show.
 */
#include <string.h>

#include "client/internal.h"
#include "core/error.h"
#include "core/str.h"

/* tchar of RFC 9110 5.6.2. */
static bool tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
        return true;
    }
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

bool msb__client_token(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!tchar((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

size_t msb__client_header_name_len(const char *line)
{
    const char *colon = strchr(line, ':');
    return colon != NULL ? (size_t)(colon - line) : strlen(line);
}

msb_status_t msb__client_header_check(const char *line, const char *what, msb_error_t *err)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL) {
        (void)msb__err(err, MSB_EINVAL, "client: %s \"%.40s\" is not a \"Name: value\" line", what,
                       line);
        return MSB_EINVAL;
    }
    size_t n = (size_t)(colon - line);
    if (!msb__client_token(line, n, MSB__CLIENT_MAX_NAME)) {
        (void)msb__err(err, MSB_EINVAL, "client: %s \"%.40s\": the name is not an HTTP token", what,
                       line);
        return MSB_EINVAL;
    }
    for (const char *p = colon + 1; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            (void)msb__err(err, MSB_EINVAL,
                           "client: %s %.*s: the value holds a control character (CR, LF, …)", what,
                           (int)n, line);
            return MSB_EINVAL;
        }
    }
    return MSB_OK;
}

/* ---- URLs ----------------------------------------------------------------------------------- */

static size_t scheme_len(const char *url, bool *https)
{
    size_t n = strnlen(url, 8);
    if (n >= 7 && msb__ascii_ieq(url, 7, "http://")) {
        *https = false;
        return 7;
    }
    if (n >= 8 && msb__ascii_ieq(url, 8, "https://")) {
        *https = true;
        return 8;
    }
    return 0;
}

static msb_status_t parse_port(const char *p, size_t n, uint16_t *port, msb_error_t *err)
{
    uint64_t v = 0;
    if (n > 0 && (msb__parse_u64(p, n, &v) != MSB_OK || v == 0 || v > 65535 || p[0] == '+')) {
        (void)msb__err(err, MSB_EINVAL, "URL port \"%.*s\" is not in 1..65535",
                       (int)(n > 8 ? 8 : n), p);
        return MSB_EINVAL;
    }
    if (n > 0) {
        *port = (uint16_t)v;
    }
    return MSB_OK;
}

/* reg-name of RFC 3986: unreserved / pct-encoded / sub-delims */
static bool host_char(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
        return true;
    }
    return ch != '\0' && strchr("-._~!$&'()*+,;=%", ch) != NULL;
}

static msb_status_t parse_host(const char *a, size_t n, msb__url_t *out, msb_error_t *err)
{
    size_t port_at = n;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL || close == a + 1) {
            (void)msb__err(err, MSB_EINVAL, "URL has a malformed IPv6 address");
            return MSB_EINVAL;
        }
        size_t hl = (size_t)(close - a) - 1;
        for (size_t i = 1; i <= hl; i++) {
            unsigned char ch = (unsigned char)a[i];
            bool ok = ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') ||
                      (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == '%';
            if (!ok) {
                (void)msb__err(err, MSB_EINVAL, "URL has a malformed IPv6 address");
                return MSB_EINVAL;
            }
        }
        out->host = a + 1;
        out->host_len = hl;
        port_at = (size_t)(close - a) + 1;
        if (port_at < n && a[port_at] != ':') {
            (void)msb__err(err, MSB_EINVAL, "URL has text after the IPv6 address");
            return MSB_EINVAL;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        port_at = colon != NULL ? (size_t)(colon - a) : n;
        out->host = a;
        out->host_len = port_at;
        for (size_t i = 0; i < port_at; i++) {
            if (!host_char((unsigned char)a[i])) {
                (void)msb__err(err, MSB_EINVAL, "URL host holds '%c'", a[i]);
                return MSB_EINVAL;
            }
        }
    }
    if (out->host_len == 0) {
        (void)msb__err(err, MSB_EINVAL, "URL has no host");
        return MSB_EINVAL;
    }
    if (port_at < n) {
        return parse_port(a + port_at + 1, n - port_at - 1, &out->port, err);
    }
    return MSB_OK;
}

msb_status_t msb__client_url_parse(const char *url, msb__url_t *out, msb_error_t *err)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = url; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f) {
            (void)msb__err(err, MSB_EINVAL,
                           "URL holds a space, control or non-ASCII byte at offset %zu (percent-"
                           "encode it)",
                           (size_t)(p - url));
            return MSB_EINVAL;
        }
    }
    size_t s = scheme_len(url, &out->https);
    if (s == 0) {
        const char *sep = strstr(url, "://");
        if (sep != NULL && sep - url <= 16) {
            (void)msb__err(err, MSB_EINVAL, "URL scheme \"%.*s\" is not http or https",
                           (int)(sep - url), url);
            return MSB_EINVAL;
        }
        (void)msb__err(err, MSB_EINVAL, "URL does not start with http:// or https://");
        return MSB_EINVAL;
    }
    out->port = out->https ? 443 : 80;
    const char *a = url + s;
    size_t alen = strcspn(a, "/?#");
    /* userinfo: everything up to the last '@' of the authority */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (a[i] == '@') {
            at = a + i;
        }
    }
    const char *h = at != NULL ? at + 1 : a;
    msb_status_t rc = parse_host(h, alen - (size_t)(h - a), out, err);
    if (rc != MSB_OK) {
        return rc;
    }
    out->rest = s + alen;
    return MSB_OK;
}

/* Query with every value replaced, so tokens and signatures never reach a log. */
static void redact_query(const char *q, size_t n, msb__buf_t *out)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&') {
            end++;
        }
        const char *eq = memchr(q + i, '=', end - i);
        size_t name_end = eq != NULL ? (size_t)(eq - q) : end;
        msb__buf_append(out, q + i, name_end - i);
        if (eq != NULL) {
            msb__buf_puts(out, end > name_end + 1 ? "=REDACTED" : "=");
        }
        if (end < n) {
            msb__buf_putc(out, '&');
        }
        i = end + 1;
    }
}

void msb__client_url_redact(const char *url, msb__buf_t *out)
{
    msb__url_t u;
    if (url == NULL || msb__client_url_parse(url, &u, NULL) != MSB_OK) {
        msb__buf_puts(out, "<invalid URL>");
        return;
    }
    msb__buf_puts(out, u.https ? "https://" : "http://");
    bool v6 = memchr(u.host, ':', u.host_len) != NULL;
    if (v6) {
        msb__buf_putc(out, '[');
    }
    msb__buf_append(out, u.host, u.host_len);
    if (v6) {
        msb__buf_putc(out, ']');
    }
    if (u.port != (u.https ? 443 : 80)) {
        msb__buf_putc(out, ':');
        msb__buf_put_u64(out, u.port);
    }
    const char *rest = url + u.rest;
    size_t path = strcspn(rest, "?#");
    msb__buf_append(out, rest, path);
    if (rest[path] == '?') {
        const char *q = rest + path + 1;
        msb__buf_putc(out, '?');
        redact_query(q, strcspn(q, "#"), out);
    }
}
