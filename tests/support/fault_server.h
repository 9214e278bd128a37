/*
 * A small HTTP/1.1 test server with injected faults, for the client's tests: plain sockets, one
 * thread accepting and one thread per connection, keep-alive, and behaviour chosen by the path:
 *
 *   /ok                         200 "ok"
 *   /echo                       200, the request's header lines as the body
 *   /body                       200, the request's body as the body
 *   /status?code=N&ra=S         status N (body "status N"), with "Retry-After: S" if ra is given
 *   /radate?code=N&in=S         status N with an HTTP-date Retry-After S seconds from now
 *   /flaky?key=K&fail=N&code=C&ra=S   the first N requests with key K answer C (with Retry-After
 *                               S if given), later ones 200 "ok"
 *   /slow?ms=N                  200 "slow" after N ms (cut short when the server stops)
 *   /hold                       waits until fault_server_release() (or stop), then 200 "held"
 *   /reset                      reads the request, then resets the connection (RST)
 *   /close                      reads the request, then closes without an answer
 *   /big?bytes=N                200 with N bytes of 'x' and a Content-Length
 *   /chunked?bytes=N&chunk=K    200 with N bytes in chunks of K (no Content-Length)
 *   /headers?n=N                200 with N extra header fields X-H-i: i
 *   /redirect?to=PATH           302 to PATH (no PATH: to itself, a loop)
 *   /malformed                  a response that is not HTTP
 *
 * Define FS_WITH_TLS before including it to get fault_server_start_tls(): the same server behind
 * TLS (OpenSSL), optionally asking clients for a certificate.
 *
 * It counts accepted connections, open ones (and the most at once) and requests, so tests can
 * see connection reuse and pool bounds. Header-only:
 * include it in one test program.
 */
#ifndef MSB_TEST_FAULT_SERVER_H
#define MSB_TEST_FAULT_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef FS_WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define FS_FN        static __attribute__((unused))
#define FS_MAX_CONNS 512
#define FS_MAX_KEYS  4096
#define FS_REQ_MAX   65536

typedef struct fault_server {
    int listen_fd;
    unsigned short port;
    char base[64]; /* "http://127.0.0.1:PORT" */
    pthread_t acceptor;
    atomic_bool stop;
    atomic_int connections; /* accepted so far */
    atomic_int open;        /* open now */
    atomic_int max_open;    /* most open at once */
    atomic_int requests;
    atomic_int held; /* requests waiting in /hold */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int release; /* /hold waiters released so far (a generation) */
    int fds[FS_MAX_CONNS];
    pthread_t threads[FS_MAX_CONNS];
    int nconns;
    struct {
        char key[64];
        int count;
    } keys[FS_MAX_KEYS];
    int nkeys;
    char last[8192]; /* header of the last request */
    void *tls;       /* SSL_CTX (FS_WITH_TLS); NULL: plain HTTP */
    atomic_int handshake_failures;
} fault_server_t;

#ifdef FS_WITH_TLS
static __thread SSL *fs_ssl; /* the connection thread's TLS session */
#endif

/* Read from the connection (TLS or not); <= 0 at the end. */
FS_FN ssize_t fs_recv(int fd, void *p, size_t n)
{
#ifdef FS_WITH_TLS
    if (fs_ssl != NULL) {
        int r = SSL_read(fs_ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        return r > 0 ? r : -1;
    }
#endif
    return recv(fd, p, n, 0);
}

typedef struct fs_conn {
    fault_server_t *srv;
    int fd;
} fs_conn_t;

/* Value of query parameter `name` in `q` (NULL-terminated target), or `def`. */
FS_FN long fs_param(const char *target, const char *name, long def)
{
    const char *q = strchr(target, '?');
    size_t n = strlen(name);
    while (q != NULL) {
        q++;
        if (strncmp(q, name, n) == 0 && q[n] == '=') {
            return strtol(q + n + 1, NULL, 10);
        }
        q = strchr(q, '&');
    }
    return def;
}

FS_FN void fs_param_str(const char *target, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *q = strchr(target, '?');
    size_t n = strlen(name);
    while (q != NULL) {
        q++;
        if (strncmp(q, name, n) == 0 && q[n] == '=') {
            size_t len = strcspn(q + n + 1, "& ");
            if (len >= size) {
                len = size - 1;
            }
            memcpy(out, q + n + 1, len);
            out[len] = '\0';
            return;
        }
        q = strchr(q, '&');
    }
}

FS_FN bool fs_send(int fd, const void *p, size_t n)
{
    const char *c = p;
#ifdef FS_WITH_TLS
    if (fs_ssl != NULL) {
        return n == 0 || SSL_write(fs_ssl, c, (int)n) == (int)n;
    }
#endif
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        c += w;
        n -= (size_t)w;
    }
    return true;
}

FS_FN bool fs_respond(int fd, int code, const char *extra, const char *body, size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n%s\r\n",
                     code, len, extra != NULL ? extra : "");
    return fs_send(fd, head, (size_t)n) && fs_send(fd, body, len);
}

/* Wait up to ms milliseconds, or until the server stops or `until_release` is released. */
FS_FN void fs_wait(fault_server_t *s, long ms, bool hold)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000 + (hold ? 60 : 0);
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    int gen = s->release;
    if (hold) {
        atomic_fetch_add(&s->held, 1);
        pthread_cond_broadcast(&s->cv);
    }
    while (!atomic_load(&s->stop) && (!hold || s->release == gen)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    if (hold) {
        atomic_fetch_sub(&s->held, 1);
    }
    pthread_mutex_unlock(&s->mu);
}

FS_FN int fs_key_count(fault_server_t *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    int i = 0;
    for (; i < s->nkeys; i++) {
        if (strcmp(s->keys[i].key, key) == 0) {
            break;
        }
    }
    if (i == s->nkeys && i < FS_MAX_KEYS) {
        snprintf(s->keys[i].key, sizeof(s->keys[i].key), "%s", key);
        s->keys[i].count = 0;
        s->nkeys++;
    }
    int n = i < FS_MAX_KEYS ? ++s->keys[i].count : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

FS_FN bool fs_big(int fd, long bytes, bool chunked, long chunk)
{
    char buf[16384];
    memset(buf, 'x', sizeof(buf));
    if (!chunked) {
        char head[256];
        int n =
            snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n", bytes);
        if (!fs_send(fd, head, (size_t)n)) {
            return false;
        }
        while (bytes > 0) {
            size_t k = bytes < (long)sizeof(buf) ? (size_t)bytes : sizeof(buf);
            if (!fs_send(fd, buf, k)) {
                return false;
            }
            bytes -= (long)k;
        }
        return true;
    }
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (!fs_send(fd, head, strlen(head))) {
        return false;
    }
    if (chunk <= 0 || chunk > (long)sizeof(buf)) {
        chunk = (long)sizeof(buf);
    }
    while (bytes > 0) {
        long k = bytes < chunk ? bytes : chunk;
        char size[32];
        int n = snprintf(size, sizeof(size), "%lx\r\n", k);
        if (!fs_send(fd, size, (size_t)n) || !fs_send(fd, buf, (size_t)k) ||
            !fs_send(fd, "\r\n", 2)) {
            return false;
        }
        bytes -= k;
    }
    return fs_send(fd, "0\r\n\r\n", 5);
}

/* Answer one request; false closes the connection. */
FS_FN bool fs_handle(fault_server_t *s, int fd, const char *method, const char *target,
                     const char *head, const char *body, size_t blen)
{
    (void)method;
    char key[64];
    if (strncmp(target, "/ok", 3) == 0) {
        return fs_respond(fd, 200, NULL, "ok", 2);
    }
    if (strncmp(target, "/echo", 5) == 0) {
        return fs_respond(fd, 200, NULL, head, strlen(head));
    }
    if (strncmp(target, "/body", 5) == 0) {
        return fs_respond(fd, 200, NULL, body, blen);
    }
    if (strncmp(target, "/status", 7) == 0 || strncmp(target, "/radate", 7) == 0) {
        int code = (int)fs_param(target, "code", 200);
        long ra = fs_param(target, "ra", -1);
        long in = fs_param(target, "in", -1);
        char extra[128] = "";
        if (ra >= 0) {
            snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", ra);
        } else if (in >= 0) {
            time_t t = time(NULL) + in;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(extra, sizeof(extra), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        }
        char b[32];
        int n = snprintf(b, sizeof(b), "status %d", code);
        return fs_respond(fd, code, extra, b, (size_t)n);
    }
    if (strncmp(target, "/flaky", 6) == 0) {
        fs_param_str(target, "key", key, sizeof(key));
        int n = fs_key_count(s, key);
        if (n <= fs_param(target, "fail", 1)) {
            int code = (int)fs_param(target, "code", 503);
            long ra = fs_param(target, "ra", -1);
            char extra[64] = "";
            if (ra >= 0) {
                snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", ra);
            }
            return fs_respond(fd, code, extra, "fail", 4);
        }
        return fs_respond(fd, 200, NULL, "ok", 2);
    }
    if (strncmp(target, "/slow", 5) == 0) {
        fs_wait(s, fs_param(target, "ms", 1000), false);
        return !atomic_load(&s->stop) && fs_respond(fd, 200, NULL, "slow", 4);
    }
    if (strncmp(target, "/hold", 5) == 0) {
        fs_wait(s, 0, true);
        return !atomic_load(&s->stop) && fs_respond(fd, 200, NULL, "held", 4);
    }
    if (strncmp(target, "/reset", 6) == 0) {
        struct linger l = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        return false;
    }
    if (strncmp(target, "/close", 6) == 0) {
        return false;
    }
    if (strncmp(target, "/big", 4) == 0) {
        return fs_big(fd, fs_param(target, "bytes", 1024), false, 0);
    }
    if (strncmp(target, "/chunked", 8) == 0) {
        return fs_big(fd, fs_param(target, "bytes", 1024), true, fs_param(target, "chunk", 0));
    }
    if (strncmp(target, "/headers", 8) == 0) {
        long n = fs_param(target, "n", 10);
        char *extra = malloc((size_t)n * 32 + 1);
        size_t len = 0;
        extra[0] = '\0';
        for (long i = 0; i < n; i++) {
            len += (size_t)snprintf(extra + len, 32, "X-H-%ld: %ld\r\n", i, i);
        }
        char head2[64];
        snprintf(head2, sizeof(head2), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
        bool ok = fs_send(fd, head2, strlen(head2)) && fs_send(fd, extra, len) &&
                  fs_send(fd, "\r\nok", 4);
        free(extra);
        return ok;
    }
    if (strncmp(target, "/redirect", 9) == 0) {
        char to[128];
        fs_param_str(target, "to", to, sizeof(to));
        if (to[0] == '\0') {
            snprintf(to, sizeof(to), "/redirect"); /* a loop */
        }
        char extra[192];
        snprintf(extra, sizeof(extra), "Location: %s\r\n", to);
        return fs_respond(fd, 302, extra, "moved", 5);
    }
    if (strncmp(target, "/malformed", 10) == 0) {
        fs_send(fd, "HELLO THERE\r\n\r\n", 15);
        return false;
    }
    return fs_respond(fd, 404, NULL, "not found", 9);
}

FS_FN void *fs_conn_main(void *arg)
{
    /* a write to a peer that left raises SIGPIPE in the writing thread (TLS writes go through
     * write(2), not send(MSG_NOSIGNAL)): block it here, the write then fails with EPIPE */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    fs_conn_t *cn = arg;
    fault_server_t *s = cn->srv;
    int fd = cn->fd;
    free(cn);
    char *buf = malloc(FS_REQ_MAX + 1);
    size_t have = 0;
#ifdef FS_WITH_TLS
    fs_ssl = NULL;
    if (s->tls != NULL) {
        SSL *ssl = SSL_new(s->tls);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
            atomic_fetch_add(&s->handshake_failures, 1);
            SSL_free(ssl);
            ERR_clear_error();
            goto out;
        }
        fs_ssl = ssl;
    }
#endif
    for (;;) {
        char *end = NULL;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            if (have == FS_REQ_MAX) {
                goto out;
            }
            ssize_t r = fs_recv(fd, buf + have, FS_REQ_MAX - have);
            if (r <= 0) {
                goto out;
            }
            have += (size_t)r;
        }
        size_t hlen = (size_t)(end - buf) + 4;
        buf[hlen - 2] = '\0';
        size_t clen = 0;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl != NULL) {
            clen = (size_t)strtoul(cl + 17, NULL, 10);
        }
        if (hlen + clen > FS_REQ_MAX) {
            goto out;
        }
        while (have < hlen + clen) {
            ssize_t r = fs_recv(fd, buf + have, FS_REQ_MAX - have);
            if (r <= 0) {
                goto out;
            }
            have += (size_t)r;
        }
        atomic_fetch_add(&s->requests, 1);
        char method[16] = "";
        char target[2048] = "";
        sscanf(buf, "%15s %2047s", method, target);
        pthread_mutex_lock(&s->mu);
        snprintf(s->last, sizeof(s->last), "%s", buf);
        pthread_mutex_unlock(&s->mu);
        bool close_after = strcasestr(buf, "\r\nConnection: close") != NULL;
        bool keep = fs_handle(s, fd, method, target, buf, buf + hlen, clen);
        memmove(buf, buf + hlen + clen, have - hlen - clen);
        have -= hlen + clen;
        if (!keep || close_after) {
            break;
        }
    }
out:
    free(buf);
#ifdef FS_WITH_TLS
    if (fs_ssl != NULL) {
        SSL_free(fs_ssl);
        fs_ssl = NULL;
        ERR_clear_error();
    }
#endif
    /* Close here (a /reset's zero linger turns the close into an RST); the slot is marked so
     * that fault_server_stop() does not touch a number the kernel may have handed out again. */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nconns; i++) {
        if (s->fds[i] == fd) {
            s->fds[i] = -1;
            break;
        }
    }
    atomic_fetch_sub(&s->open, 1);
    close(fd);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

FS_FN void *fs_accept_main(void *arg)
{
    fault_server_t *s = arg;
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (atomic_load(&s->stop)) {
                return NULL;
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return NULL;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_mutex_lock(&s->mu);
        if (atomic_load(&s->stop) || s->nconns == FS_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        atomic_fetch_add(&s->connections, 1);
        int now = atomic_fetch_add(&s->open, 1) + 1;
        int most = atomic_load(&s->max_open);
        while (now > most && !atomic_compare_exchange_weak(&s->max_open, &most, now)) {
        }
        fs_conn_t *cn = malloc(sizeof(*cn));
        cn->srv = s;
        cn->fd = fd;
        s->fds[s->nconns] = fd;
        pthread_create(&s->threads[s->nconns], NULL, fs_conn_main, cn);
        s->nconns++;
        pthread_mutex_unlock(&s->mu);
    }
}

/* Start on 127.0.0.1 and an ephemeral port, behind TLS when tls (an SSL_CTX) is given. */
FS_FN int fs_start(fault_server_t *s, void *tls)
{
    memset(s, 0, sizeof(*s));
    s->tls = tls;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->listen_fd, 512) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &len) != 0) {
        close(s->listen_fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%u", tls != NULL ? "https" : "http",
             (unsigned)s->port);
    return pthread_create(&s->acceptor, NULL, fs_accept_main, s) == 0 ? 0 : -1;
}

/* Start on 127.0.0.1 and an ephemeral port. Returns 0 or -1. */
FS_FN int fault_server_start(fault_server_t *s)
{
    return fs_start(s, NULL);
}

#ifdef FS_WITH_TLS
/* Start behind TLS with a PEM certificate chain and key; with client_ca, clients must present
 * a certificate signed by it. Returns 0 or -1. */
FS_FN int fault_server_start_tls(fault_server_t *s, const char *cert, const char *key,
                                 const char *client_ca)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return -1;
    }
    if (client_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            SSL_CTX_free(ctx);
            return -1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (fs_start(s, ctx) != 0) {
        SSL_CTX_free(ctx);
        return -1;
    }
    return 0;
}
#endif

FS_FN void fault_server_stop(fault_server_t *s)
{
    atomic_store(&s->stop, true);
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->acceptor, NULL);
    close(s->listen_fd);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    for (int i = 0; i < s->nconns; i++) {
        if (s->fds[i] >= 0) {
            shutdown(s->fds[i], SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nconns; i++) {
        pthread_join(s->threads[i], NULL);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
#ifdef FS_WITH_TLS
    SSL_CTX_free(s->tls);
#endif
}

/* Let every request waiting in /hold answer. */
FS_FN void fault_server_release(fault_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->release++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Wait (up to 10 s) until n requests are waiting in /hold; false on time-out. */
FS_FN bool fault_server_wait_held(fault_server_t *s, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (atomic_load(&s->held) < n && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    bool ok = atomic_load(&s->held) >= n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

/* Copy of the last request's header block. */
FS_FN void fault_server_last(fault_server_t *s, char *out, size_t size)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, size, "%s", s->last);
    pthread_mutex_unlock(&s->mu);
}

/* Value of header `name` in a header block (case-insensitive), or "" when absent. */
FS_FN void fs_header_value(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ') {
                v++;
            }
            size_t len = strcspn(v, "\r");
            if (len >= size) {
                len = size - 1;
            }
            memcpy(out, v, len);
            out[len] = '\0';
            return;
        }
    }
}

#endif
