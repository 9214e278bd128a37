/* Helpers for the integration tests; see harness.h. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROM_TARGETS_DEFAULT "/var/lib/msb-infra/prometheus/targets"
#define INFRA_LOGS_DEFAULT   "/var/log/msb-infra"

const char *msb_it_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : fallback;
}

void msb_it_unreachable(const char *file, int line, const char *server, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    cr_assert_fail("%s:%d: %s is not reachable: %s\n"
                   "    is it up?  scripts/infra status   (start it: scripts/infra up %s)\n"
                   "    its log:   %s/%s.log   (scripts/infra logs %s)",
                   file, line, server, detail, server,
                   msb_it_env("MSB_INFRA_LOGS", INFRA_LOGS_DEFAULT), server, server);
    abort(); /* not reached: cr_assert_fail ends the test */
}

/* Waits for pid; returns its exit status, or -1 if it did not exit normally. */
static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int msb_it_infra_run(const char *verb, const char *server)
{
    const char *src = getenv("MSB_SOURCE_DIR");
    if (src == NULL || src[0] == '\0') {
        fprintf(stderr, "harness: MSB_SOURCE_DIR is not set (ctest sets it to the source tree)\n");
        return -1;
    }
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/scripts/infra", src);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "harness: MSB_SOURCE_DIR is too long\n");
        return -1;
    }
    char *const argv[] = {path, (char *)verb, (char *)server, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot run %s: %s\n", path, strerror(rc));
        return -1;
    }
    return wait_child(pid);
}

void msb_it_infra(const char *file, int line, const char *verb, const char *server)
{
    int64_t t0 = msb_it_now_ms();
    int rc = msb_it_infra_run(verb, server);
    if (rc != 0) {
        cr_assert_fail("%s:%d: `scripts/infra %s %s` failed (exit status %d)\n"
                       "    its log: %s/%s.log   (scripts/infra logs %s)",
                       file, line, verb, server, rc,
                       msb_it_env("MSB_INFRA_LOGS", INFRA_LOGS_DEFAULT), server, server);
    }
    cr_log_info("scripts/infra %s %s: %lld ms", verb, server, (long long)(msb_it_now_ms() - t0));
}

void msb_it_infra_restore(const char *server)
{
    if (msb_it_infra_run("start", server) != 0) {
        fprintf(stderr, "harness: could not bring %s back up: see scripts/infra logs %s\n", server,
                server);
    }
}

int64_t msb_it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool msb_it_wait_until(msb_it_probe_fn probe, void *user, int timeout_ms, int interval_ms)
{
    int64_t deadline = msb_it_now_ms() + timeout_ms;
    for (;;) {
        if (probe(user)) {
            return true;
        }
        if (msb_it_now_ms() >= deadline) {
            return false;
        }
        struct timespec ts = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void msb_it_unique(char *buf, size_t len, const char *prefix)
{
    static unsigned counter;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        r = (uint32_t)msb_it_now_ms();
    }
    snprintf(buf, len, "%s_%ld_%u_%08x", prefix, (long)getpid(), ++counter, (unsigned)r);
}

/* Copies [s, e) into dst (cap bytes); false when it does not fit. */
static bool copy_part(char *dst, size_t cap, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    if (n >= cap) {
        return false;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

bool msb_it_url_parse(const char *url, msb_it_url_t *out)
{
    memset(out, 0, sizeof(*out));
    out->port = -1;
    const char *sep = strstr(url, "://");
    if (sep == NULL || !copy_part(out->scheme, sizeof(out->scheme), url, sep)) {
        return false;
    }
    const char *auth = sep + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(end - auth));
    const char *host = auth;
    if (at != NULL) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        const char *user_end = colon != NULL ? colon : at;
        if (!copy_part(out->user, sizeof(out->user), auth, user_end) ||
            (colon != NULL && !copy_part(out->password, sizeof(out->password), colon + 1, at))) {
            return false;
        }
        host = at + 1;
    }
    const char *host_end;
    const char *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL) {
            return false;
        }
        host_end = close + 1;
        port = (host_end < end && *host_end == ':') ? host_end + 1 : NULL;
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        host_end = colon != NULL ? colon : end;
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (host_end == host || !copy_part(out->host, sizeof(out->host), host, host_end)) {
        return false;
    }
    if (port != NULL) {
        char digits[8];
        char *stop = NULL;
        if (!copy_part(digits, sizeof(digits), port, end) || digits[0] == '\0') {
            return false;
        }
        long p = strtol(digits, &stop, 10);
        if (*stop != '\0' || p <= 0 || p > 65535) {
            return false;
        }
        out->port = (int)p;
    }
    if (*end == '/') {
        return copy_part(out->path, sizeof(out->path), end + 1, end + 1 + strcspn(end + 1, "?#"));
    }
    return true;
}

/* Feeds input to fd_in (closing it when done) and collects fd_out into out, until fd_out ends. */
static void pump(int fd_in, const char *input, int fd_out, char *out, size_t out_len)
{
    size_t in_len = input != NULL ? strlen(input) : 0;
    size_t in_off = 0;
    size_t got = 0;
    if (in_len == 0) {
        close(fd_in);
        fd_in = -1;
    }
    for (;;) {
        struct pollfd p[2] = {{fd_out, POLLIN, 0}, {fd_in, POLLOUT, 0}};
        if (poll(p, fd_in >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fd_in >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            ssize_t w = write(fd_in, input + in_off, in_len - in_off);
            if (w > 0) {
                in_off += (size_t)w;
            }
            if (w < 0 || in_off == in_len) {
                close(fd_in);
                fd_in = -1;
            }
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char tmp[4096];
            ssize_t r = read(fd_out, tmp, sizeof(tmp));
            if (r <= 0) {
                break;
            }
            size_t keep = (size_t)r;
            if (out_len > 0 && got + keep > out_len - 1) {
                keep = out_len - 1 - got;
            }
            memcpy(out + got, tmp, keep);
            got += keep;
        }
    }
    if (fd_in >= 0) {
        close(fd_in);
    }
    if (out_len > 0) {
        out[got] = '\0';
    }
}

int msb_it_run(const char *const argv[], const char *input, char *out, size_t out_len)
{
    int in[2];
    int outp[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        return -1;
    }
    if (pipe2(outp, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    if (rc != 0) {
        close(in[1]);
        close(outp[0]);
        return -1;
    }
    pump(in[1], input, outp[0], out, out_len);
    close(outp[0]);
    return wait_child(pid);
}

struct msb_it_http_server {
    int listen_fd;
    int stop_pipe[2];
    int port;
    atomic_long hits;
    pthread_t thread;
    char *response;
    size_t response_len;
};

/* Reads a request head (up to the blank line, or until the peer stops sending), then answers. */
static void serve_one(msb_it_http_server_t *s, int fd)
{
    char req[8192];
    size_t got = 0;
    while (got < sizeof(req) - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) {
            break;
        }
        ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) {
            break;
        }
    }
    size_t off = 0;
    while (off < s->response_len) {
        ssize_t w = send(fd, s->response + off, s->response_len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    atomic_fetch_add(&s->hits, 1);
}

static void *serve(void *arg)
{
    msb_it_http_server_t *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (p[1].revents != 0) {
            break;
        }
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            serve_one(s, fd);
            close(fd);
        }
    }
    return NULL;
}

/* Binds a listening socket on 127.0.0.1, port chosen by the kernel; returns the fd or -1. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

msb_it_http_server_t *msb_it_http_server_start(const char *body, const char *content_type)
{
    msb_it_http_server_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    size_t cap = strlen(body) + strlen(content_type) + 128;
    s->response = malloc(cap);
    s->listen_fd = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    if (s->response == NULL) {
        goto fail;
    }
    int n = snprintf(s->response, cap,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     content_type, strlen(body), body);
    if (n < 0 || (size_t)n >= cap) {
        goto fail;
    }
    s->response_len = (size_t)n;
    atomic_init(&s->hits, 0);
    s->listen_fd = listen_loopback(&s->port);
    if (s->listen_fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC) != 0 ||
        pthread_create(&s->thread, NULL, serve, s) != 0) {
        goto fail;
    }
    return s;
fail:
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    if (s->stop_pipe[0] >= 0) {
        close(s->stop_pipe[0]);
        close(s->stop_pipe[1]);
    }
    free(s->response);
    free(s);
    return NULL;
}

int msb_it_http_server_port(const msb_it_http_server_t *s)
{
    return s->port;
}

long msb_it_http_server_hits(const msb_it_http_server_t *s)
{
    return atomic_load(&((msb_it_http_server_t *)s)->hits);
}

void msb_it_http_server_stop(msb_it_http_server_t *s)
{
    if (s == NULL) {
        return;
    }
    if (write(s->stop_pipe[1], "x", 1) != 1) {
        fprintf(stderr, "harness: cannot signal the HTTP server thread\n");
    }
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    free(s->response);
    free(s);
}

static bool target_path(char *buf, size_t len, const char *name, const char *suffix)
{
    const char *dir = msb_it_env("MSB_TEST__PROMETHEUS__TARGETS_DIR", PROM_TARGETS_DEFAULT);
    int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
    return n > 0 && (size_t)n < len;
}

bool msb_it_prom_target_add(const char *name, int port, const char *job)
{
    char tmp[4096];
    char path[4096];
    /* The temporary name does not match the *.json that Prometheus watches. */
    if (!target_path(tmp, sizeof(tmp), name, ".json.tmp") ||
        !target_path(path, sizeof(path), name, ".json")) {
        fprintf(stderr, "harness: target path too long\n");
        return false;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "harness: cannot write %s: %s\n", tmp, strerror(errno));
        return false;
    }
    int w = fprintf(f, "[{\"targets\": [\"127.0.0.1:%d\"], \"labels\": {\"job\": \"%s\"}}]\n", port,
                    job);
    if (fclose(f) != 0 || w < 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "harness: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

void msb_it_prom_target_remove(const char *name)
{
    char path[4096];
    if (target_path(path, sizeof(path), name, ".json")) {
        unlink(path);
    }
}
