/*
 * redis://[[user][:password]@]host[:port][/db]  (the IANA "redis" scheme; RFC 3986 syntax)
 *
 * Strict on purpose: a URL that does not parse is refused with the reason rather than guessed
 * at. Messages never quote the URL (only a well-formed scheme): a mistyped URL may carry its
 * password anywhere.
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/str.h"
#include "redis/redis.h"

#define DB_MAX 2147483647

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = msb__ascii_lower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* RFC 3986 userinfo characters: unreserved, sub-delims, ':' (handled by the caller), '%XX'. */
static bool userinfo_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* Percent-decode s[0..n) into out[size]; refuses NUL bytes and invalid escapes. */
static msb_status_t decode(const char *s, size_t n, char *out, size_t size, const char *what,
                           msb_error_t *err)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return msb__err(err, MSB_EINVAL, "redis URL: bad %%-escape in the %s", what);
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                return msb__err(err, MSB_EINVAL, "redis URL: %%00 in the %s", what);
            }
            i += 2;
        } else if (!userinfo_char(c)) {
            return msb__err(err, MSB_EINVAL, "redis URL: character 0x%02x not allowed in the %s",
                            (unsigned char)c, what);
        }
        if (o + 1 >= size) {
            return msb__err(err, MSB_EINVAL, "redis URL: the %s is longer than %zu bytes", what,
                            size - 1);
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return MSB_OK;
}

static msb_status_t parse_userinfo(const char *s, size_t n, msb__redis_url_t *u, msb_error_t *err)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon != NULL ? (size_t)(colon - s) : n;
    msb_status_t rc = decode(s, ulen, u->user, sizeof(u->user), "user name", err);
    if (rc != MSB_OK) {
        return rc;
    }
    u->has_user = ulen > 0;
    if (colon != NULL) {
        size_t plen = n - ulen - 1;
        rc = decode(colon + 1, plen, u->password, sizeof(u->password), "password", err);
        if (rc != MSB_OK) {
            return rc;
        }
        u->has_password = plen > 0;
    }
    if (u->has_user && !u->has_password) {
        /* not echoed: "redis://secret@host" is a common way to mistype a password */
        return msb__err(err, MSB_EINVAL,
                        "redis URL: a user name without a password (write redis://:password@host "
                        "for a password alone)");
    }
    return MSB_OK;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static bool v6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

static msb_status_t parse_port(const char *s, size_t n, msb__redis_url_t *u, msb_error_t *err)
{
    uint64_t v = 0;
    if (n == 0 || msb__parse_u64(s, n, &v) != MSB_OK || v == 0 || v > 65535) {
        /* The text is not echoed: none of the URL but a well-formed scheme ever is. */
        return msb__err(err, MSB_EINVAL, "redis URL: the port is not a number in 1..65535");
    }
    u->port = (int)v;
    return MSB_OK;
}

/* host[:port] or [v6][:port] */
static msb_status_t parse_hostport(const char *s, size_t n, msb__redis_url_t *u, msb_error_t *err)
{
    size_t hlen;
    const char *h = s;
    const char *rest;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            return msb__err(err, MSB_EINVAL, "redis URL: '[' without ']' in the host");
        }
        h = s + 1;
        hlen = (size_t)(close - h);
        for (size_t i = 0; i < hlen; i++) {
            if (!v6_char(h[i])) {
                return msb__err(err, MSB_EINVAL, "redis URL: bad IPv6 address");
            }
        }
        if (hlen < 2) {
            return msb__err(err, MSB_EINVAL, "redis URL: bad IPv6 address");
        }
        rest = close + 1;
    } else {
        hlen = 0;
        while (hlen < n && s[hlen] != ':') {
            if (!host_char(s[hlen])) {
                return msb__err(err, MSB_EINVAL,
                                "redis URL: character 0x%02x not allowed in the host",
                                (unsigned char)s[hlen]);
            }
            hlen++;
        }
        rest = s + hlen;
    }
    if (hlen == 0) {
        return msb__err(err, MSB_EINVAL, "redis URL: the host is missing");
    }
    if (hlen >= sizeof(u->host)) {
        return msb__err(err, MSB_EINVAL, "redis URL: the host is longer than %zu bytes",
                        sizeof(u->host) - 1);
    }
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    size_t left = n - (size_t)(rest - s);
    if (left == 0) {
        return MSB_OK;
    }
    if (rest[0] != ':') {
        return msb__err(err, MSB_EINVAL, "redis URL: unexpected character after the host");
    }
    return parse_port(rest + 1, left - 1, u, err);
}

static msb_status_t parse_path(const char *s, msb__redis_url_t *u, msb_error_t *err)
{
    size_t n = strlen(s);
    if (n == 0) {
        return MSB_OK; /* "/" alone: database 0 */
    }
    uint64_t db = 0;
    if (msb__parse_u64(s, n, &db) != MSB_OK || db > DB_MAX) {
        /* The path is not echoed: a mistyped URL may carry a password there. */
        return msb__err(err, MSB_EINVAL, "redis URL: the path must be a database number 0..%d",
                        DB_MAX);
    }
    u->db = (int)db;
    return MSB_OK;
}

static msb_status_t parse_scheme(const char *url, const char **after, msb_error_t *err)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL) {
        return msb__err(err, MSB_EINVAL, "redis URL: expected redis://host[:port][/db]");
    }
    size_t slen = (size_t)(sep - url);
    if (msb__ascii_ieq(url, slen, "rediss")) {
        return msb__err(err, MSB_ENOTSUP,
                        "redis URL: rediss:// (TLS) is not supported: hiredis 0.14 has no TLS");
    }
    if (!msb__ascii_ieq(url, slen, "redis")) {
        /* Echo the scheme only when it looks like one (a mistyped URL may start with a
         * password). */
        bool plain = slen > 0 && slen <= 16;
        for (size_t i = 0; i < slen && plain; i++) {
            char c = msb__ascii_lower(url[i]);
            plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
                    c == '.';
        }
        return msb__err(err, MSB_EINVAL, "redis URL: scheme \"%.*s\" is not redis",
                        plain ? (int)slen : 1, plain ? url : "?");
    }
    *after = sep + 3;
    return MSB_OK;
}

msb_status_t msb__redis_url_parse(const char *url, msb__redis_url_t *out, msb_error_t *err)
{
    msb__redis_url_t u;
    memset(&u, 0, sizeof(u));
    u.port = MSB__REDIS_PORT_DEF;
    if (url == NULL) {
        return msb__err(err, MSB_EINVAL, "redis URL: missing");
    }
    const char *p = url;
    msb_status_t rc = parse_scheme(url, &p, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (strpbrk(p, "?#") != NULL) {
        return msb__err(err, MSB_EINVAL,
                        "redis URL: query strings and fragments are not supported");
    }
    const char *slash = strchr(p, '/');
    size_t auth_len = slash != NULL ? (size_t)(slash - p) : strlen(p);
    /* The last '@' ends the userinfo ('@' itself is not allowed there unescaped). */
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) {
        if (p[i] == '@') {
            at = p + i;
        }
    }
    const char *host = p;
    if (at != NULL) {
        rc = parse_userinfo(p, (size_t)(at - p), &u, err);
        if (rc != MSB_OK) {
            return rc;
        }
        host = at + 1;
    }
    rc = parse_hostport(host, auth_len - (size_t)(host - p), &u, err);
    if (rc == MSB_OK && slash != NULL) {
        rc = parse_path(slash + 1, &u, err);
    }
    if (rc == MSB_OK) {
        *out = u;
    }
    return rc;
}

void msb__redis_url_where(const msb__redis_url_t *u, char *buf, size_t size)
{
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(buf, size, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
}
