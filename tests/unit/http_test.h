/*
 * Helpers for the HTTP tests: a server on 127.0.0.1 with an ephemeral port, and a raw blocking
 * client that sends exact bytes and parses what comes back. Every socket has a receive timeout,
 * so a server that hangs fails the test instead of hanging it.
 */
#ifndef MSB_TEST_HTTP_H
#define MSB_TEST_HTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msb/http.h"

#define T_RECV_TIMEOUT_S 5

typedef struct t_resp {
    int status; /* 0: the connection closed before a status line */
    char head[8192];
    char *body;
    size_t body_len;
    bool closed; /* the server closed after this response */
} t_resp_t;

static inline msb_http_server_t *t_server(msb_http_server_opts_t *o)
{
    msb_http_server_opts_t d = MSB_HTTP_SERVER_OPTS_INIT;
    if (o == NULL) {
        o = &d;
    }
    o->listen = "127.0.0.1:0";
    msb_http_server_t *srv = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_http_server_new(o, &srv, &err) != MSB_OK) {
        fprintf(stderr, "server: %s\n", err.message);
        abort();
    }
    return srv;
}

static inline void t_start(msb_http_server_t *srv)
{
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_http_server_start(srv, &err) != MSB_OK) {
        fprintf(stderr, "start: %s\n", err.message);
        abort();
    }
}

static inline void t_route(msb_http_group_t *g, const char *method, const char *pattern,
                           msb_http_handler_fn fn, void *user)
{
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_http_route(g, method, pattern, fn, user, &err) != MSB_OK) {
        fprintf(stderr, "route %s %s: %s\n", method, pattern, err.message);
        abort();
    }
}

static inline int t_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {T_RECV_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static inline bool t_send(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) {
            return false;
        }
        s += k;
        n -= (size_t)k;
    }
    return true;
}

static inline bool t_sends(int fd, const char *s)
{
    return t_send(fd, s, strlen(s));
}

/* Buffered reader over a socket: keeps bytes of a following pipelined response. */
typedef struct t_conn {
    int fd;
    char buf[1 << 16];
    size_t len;
    bool eof;
} t_conn_t;

static inline bool t_fill(t_conn_t *c)
{
    if (c->eof || c->len == sizeof(c->buf)) {
        return false;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0) {
        c->eof = true; /* EOF, reset or the receive timeout: all end the exchange */
        return false;
    }
    c->len += (size_t)n;
    return true;
}

static inline void t_consume(t_conn_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Value of a header in r->head (case-insensitive), copied into out; false when absent. */
static inline bool t_header(const t_resp_t *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p != NULL && p[2] != '\0') {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') {
                v++;
            }
            const char *e = strstr(v, "\r\n");
            size_t len = e != NULL ? (size_t)(e - v) : strlen(v);
            if (out != NULL) {
                snprintf(out, size, "%.*s", (int)len, v);
            }
            return true;
        }
        p = strstr(p, "\r\n");
    }
    return false;
}

static inline bool t_read_chunked(t_conn_t *c, t_resp_t *r)
{
    size_t cap = 1024;
    r->body = malloc(cap);
    r->body_len = 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
            if (!t_fill(c)) {
                return false;
            }
        }
        size_t size = strtoul(c->buf, NULL, 16);
        t_consume(c, (size_t)(nl - c->buf) + 1);
        if (size == 0) {
            /* trailer section: until an empty line */
            for (;;) {
                while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
                    if (!t_fill(c)) {
                        return false;
                    }
                }
                size_t l = (size_t)(nl - c->buf) + 1;
                t_consume(c, l);
                if (l <= 2) {
                    return true;
                }
            }
        }
        while (r->body_len + size + 1 > cap) {
            cap *= 2;
            r->body = realloc(r->body, cap);
        }
        size_t got = 0;
        while (got < size) {
            if (c->len == 0 && !t_fill(c)) {
                return false;
            }
            size_t k = c->len < size - got ? c->len : size - got;
            memcpy(r->body + r->body_len + got, c->buf, k);
            t_consume(c, k);
            got += k;
        }
        r->body_len += size;
        r->body[r->body_len] = '\0';
        while (c->len < 2) {
            if (!t_fill(c)) {
                return false;
            }
        }
        t_consume(c, 2);
    }
}

/*
 * Read one response (skipping 100 Continue when skip_100). For HEAD requests pass head_only.
 * Returns false when the connection closed or timed out before a complete response.
 */
static inline bool t_read_resp(t_conn_t *c, t_resp_t *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        char *end = NULL;
        while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL) {
            if (!t_fill(c)) {
                return false;
            }
        }
        size_t hl = (size_t)(end - c->buf) + 4;
        if (hl >= sizeof(r->head)) {
            return false;
        }
        memcpy(r->head, c->buf, hl);
        r->head[hl] = '\0';
        t_consume(c, hl);
        r->status = atoi(r->head + 9);
        if (r->status >= 200) {
            break;
        }
    }
    char v[64];
    r->closed = t_header(r, "Connection", v, sizeof(v)) && strcasecmp(v, "close") == 0;
    bool bodyless = head_only || r->status == 204 || r->status == 304;
    if (!bodyless && t_header(r, "Transfer-Encoding", v, sizeof(v))) {
        return t_read_chunked(c, r);
    }
    size_t n = 0;
    if (t_header(r, "Content-Length", v, sizeof(v))) {
        n = strtoul(v, NULL, 10);
    } else if (!bodyless) {
        while (t_fill(c)) {
        }
        n = c->len;
    }
    if (bodyless) {
        n = 0;
    }
    r->body = malloc(n + 1);
    size_t have = c->len < n ? c->len : n;
    memcpy(r->body, c->buf, have);
    t_consume(c, have);
    while (have < n) {
        ssize_t k = recv(c->fd, r->body + have, n - have, 0);
        if (k <= 0) {
            c->eof = true;
            return false;
        }
        have += (size_t)k;
    }
    r->body[n] = '\0';
    r->body_len = n;
    return true;
}

static inline void t_resp_free(t_resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Whether the server closes the connection (EOF) within the receive timeout, after any bytes. */
static inline bool t_closed(t_conn_t *c)
{
    while (t_fill(c)) {
    }
    return c->eof;
}

static inline void t_open(t_conn_t *c, uint16_t port)
{
    memset(c, 0, sizeof(*c));
    c->fd = t_connect(port);
}

static inline void t_close(t_conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
}

/* One request on a fresh connection; the response in *r. */
static inline bool t_exchange(uint16_t port, const char *raw, t_resp_t *r)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    bool ok = c->fd >= 0 && t_sends(c->fd, raw) && t_read_resp(c, r, strncmp(raw, "HEAD ", 5) == 0);
    t_close(c);
    free(c);
    return ok;
}

/*
 * Send raw bytes (len may cover NULs) on a fresh connection; the server must answer `status` as
 * application/problem+json and then close the connection. Returns the response body's status
 * text for more checks (the caller frees r).
 */
static inline void t_expect_reject(uint16_t port, const char *raw, size_t len, int status,
                                   t_resp_t *r)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    if (c->fd < 0 || !t_send(c->fd, raw, len) || !t_read_resp(c, r, false)) {
        fprintf(stderr, "no response to %.*s\n", (int)(len > 80 ? 80 : len), raw);
        abort();
    }
    if (r->status != status) {
        fprintf(stderr, "expected %d, got %d for %.*s\n%s\n", status, r->status,
                (int)(len > 200 ? 200 : len), raw, r->body);
        abort();
    }
    char v[128];
    if (!t_header(r, "Content-Type", v, sizeof(v)) || strcmp(v, "application/problem+json") != 0) {
        fprintf(stderr, "not a problem: %s\n", r->head);
        abort();
    }
    if (!t_closed(c)) {
        fprintf(stderr, "connection left open after %d\n", status);
        abort();
    }
    if (c->len != 0) {
        fprintf(stderr, "bytes after the error response: %.*s\n", (int)c->len, c->buf);
        abort();
    }
    t_close(c);
    free(c);
}

static inline uint64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Common handlers. */
static inline msb_status_t t_hello(msb_http_req_t *req, void *user)
{
    (void)user;
    return msb_http_respond(req, 200, "text/plain", "hello", 5);
}

/* Echo the body back, with X-Path and X-Param-* headers for routing tests. */
static inline msb_status_t t_echo(msb_http_req_t *req, void *user)
{
    const char *tag = user;
    size_t n;
    const void *b = msb_http_req_body(req, &n);
    if (tag != NULL) {
        msb_http_resp_header_add(req, "X-Route", tag);
    }
    return msb_http_respond(req, 200, "application/octet-stream", b, n);
}

#endif
