/* Server construction, options, start and graceful stop. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/internal.h"

static void read_opts(const msb_http_server_opts_t *in, msb_http_server_opts_t *o)
{
    msb_http_server_opts_t d = MSB_HTTP_SERVER_OPTS_INIT;
    *o = d;
    if (in == NULL) {
        return;
    }
#define TAKE(f)                                                                                    \
    if (MSB_OPT_HAS(in, f)) {                                                                      \
        o->f = in->f;                                                                              \
    }
    TAKE(listen);
    TAKE(workers);
    TAKE(listen_mode);
    TAKE(backlog);
    TAKE(max_connections);
    TAKE(max_request_line);
    TAKE(max_header_bytes);
    TAKE(max_headers);
    TAKE(max_body_bytes);
    TAKE(header_timeout_ms);
    TAKE(body_timeout_ms);
    TAKE(write_timeout_ms);
    TAKE(idle_timeout_ms);
    TAKE(handler_timeout_ms);
    TAKE(timeout_status);
    TAKE(tls_cert_file);
    TAKE(tls_key_file);
    TAKE(default_middleware);
    TAKE(listen_fds);
    TAKE(listen_fd_count);
    TAKE(on_worker_start);
    TAKE(on_worker_stop);
    TAKE(worker_user);
#undef TAKE
}

static msb_status_t check_opts(msb_http_server_opts_t *o, msb_error_t *err)
{
    if (o->workers < 0 || o->workers > 256) {
        return msb__err(err, MSB_EINVAL, "http.workers: %d not in 0..256", o->workers);
    }
    if (o->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->workers = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if (o->listen_mode != MSB_HTTP_LISTEN_REUSEPORT && o->listen_mode != MSB_HTTP_LISTEN_HANDOFF) {
        return msb__err(err, MSB_EINVAL, "http.listen_mode: %d is not a mode", (int)o->listen_mode);
    }
    if (o->max_request_line < 64 || o->max_request_line > (1u << 20)) {
        return msb__err(err, MSB_EINVAL, "http.max_request_line: %u not in 64..1048576",
                        o->max_request_line);
    }
    if (o->max_header_bytes < 256 || o->max_header_bytes > (1u << 22)) {
        return msb__err(err, MSB_EINVAL, "http.max_header_bytes: %u not in 256..4194304",
                        o->max_header_bytes);
    }
    if (o->max_headers < 1 || o->max_headers > 10000) {
        return msb__err(err, MSB_EINVAL, "http.max_headers: %u not in 1..10000", o->max_headers);
    }
    if (o->max_body_bytes > (UINT64_C(1) << 40)) {
        return msb__err(err, MSB_EINVAL, "http.max_body_bytes: more than 1 TiB");
    }
    if (o->timeout_status != 503 && o->timeout_status != 504) {
        return msb__err(err, MSB_EINVAL, "http.timeout_status: %d is neither 503 nor 504",
                        o->timeout_status);
    }
    if ((o->tls_cert_file == NULL) != (o->tls_key_file == NULL)) {
        return msb__err(err, MSB_EINVAL, "http.tls: give both the certificate and the key file");
    }
    if (o->listen_fd_count > 0 && o->listen_fds == NULL) {
        return msb__err(err, MSB_EINVAL, "http.listen_fds: NULL with a count");
    }
    if (o->listen_fd_count > 1 && o->listen_fd_count != (size_t)o->workers) {
        return msb__err(err, MSB_EINVAL,
                        "http.listen_fds: %zu sockets for %d workers (give one, or one each)",
                        o->listen_fd_count, o->workers);
    }
    if (o->listen == NULL && o->listen_fd_count == 0) {
        return msb__err(err, MSB_EINVAL, "http.listen: no address");
    }
    if (o->max_connections == 0) {
        o->max_connections = UINT32_MAX;
    }
    if (o->backlog <= 0) {
        o->backlog = 511;
    }
    return MSB_OK;
}

static msb_status_t copy_strings(msb_http_server_t *s, msb_error_t *err)
{
    msb_http_server_opts_t *o = &s->o;
    if (o->listen != NULL && (s->listen = msb__strdup(o->listen)) == NULL) {
        return msb__err_nomem(err, "the listen address");
    }
    o->listen = s->listen;
    if (o->tls_cert_file != NULL) {
        s->cert = msb__strdup(o->tls_cert_file);
        s->key = msb__strdup(o->tls_key_file);
        if (s->cert == NULL || s->key == NULL) {
            return msb__err_nomem(err, "the TLS file names");
        }
    }
    o->tls_cert_file = s->cert;
    o->tls_key_file = s->key;
    if (o->listen_fd_count > 0) {
        s->adopted = msb__memdup(o->listen_fds, o->listen_fd_count * sizeof(int));
        if (s->adopted == NULL) {
            return msb__err_nomem(err, "the adopted sockets");
        }
        s->nadopted = o->listen_fd_count;
    }
    o->listen_fds = s->adopted;
    return MSB_OK;
}

MSB_INTERNAL msb_status_t msb__http_group_root_new(msb_http_server_t *srv, msb_error_t *err);

msb_status_t msb_http_server_new(const msb_http_server_opts_t *opts, msb_http_server_t **out,
                                 msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "http server: NULL out");
    }
    msb_http_server_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "an HTTP server");
    }
    pthread_mutex_init(&s->tls_lock, NULL);
    pthread_mutex_init(&s->stop_lock, NULL);
    pthread_cond_init(&s->stop_cond, NULL);
    read_opts(opts, &s->o);
    msb_status_t rc = check_opts(&s->o, err);
    if (rc == MSB_OK) {
        rc = copy_strings(s, err);
    }
    if (rc == MSB_OK && s->cert != NULL) {
        rc = msb__http_tls_load(s->cert, s->key, &s->tls, err);
    }
    if (rc == MSB_OK && msb__http_router_new(&s->router) != MSB_OK) {
        rc = msb__err_nomem(err, "the router");
    }
    if (rc == MSB_OK) {
        rc = msb__http_group_root_new(s, err);
    }
    if (rc != MSB_OK) {
        msb_http_server_free(s);
        return rc;
    }
    s->nworkers = s->o.workers;
    s->lim.max_request_line = s->o.max_request_line;
    s->lim.max_header_bytes = s->o.max_header_bytes;
    s->lim.max_headers = s->o.max_headers;
    s->lim.max_body = s->o.max_body_bytes;
    *out = s;
    return MSB_OK;
}

MSB_INTERNAL void msb__http_workers_free(msb_http_server_t *srv);

void msb_http_server_free(msb_http_server_t *srv)
{
    if (srv == NULL) {
        return;
    }
    if (srv->started && !srv->stopped) {
        msb_http_server_stop(srv, 0, NULL);
    }
    msb__http_workers_free(srv);
    msb__http_groups_free(srv);
    msb__http_router_free(srv->router);
    msb__http_tls_free(srv->tls);
    pthread_mutex_destroy(&srv->tls_lock);
    pthread_mutex_destroy(&srv->stop_lock);
    pthread_cond_destroy(&srv->stop_cond);
    msb__free(srv->listen);
    msb__free(srv->cert);
    msb__free(srv->key);
    msb__free(srv->adopted);
    msb__free(srv);
}

msb_http_group_t *msb_http_server_root(msb_http_server_t *srv)
{
    return srv->root;
}

msb_status_t msb_http_server_start(msb_http_server_t *srv, msb_error_t *err)
{
    if (srv->started) {
        return msb__err(err, MSB_EBUSY, "http server: already started");
    }
    msb_status_t rc = msb__http_groups_resolve(srv, err);
    if (rc != MSB_OK) {
        return rc;
    }
    srv->started = true;
    rc = msb__http_workers_start(srv, err);
    if (rc != MSB_OK) {
        srv->stopped = true;
    }
    return rc;
}

uint16_t msb_http_server_port(const msb_http_server_t *srv)
{
    return srv->port;
}

size_t msb_http_server_listen_fds(const msb_http_server_t *srv, int *fds, size_t max)
{
    size_t n = 0;
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        if (srv->workers[i].listen_fd >= 0) {
            if (n < max) {
                fds[n] = srv->workers[i].listen_fd;
            }
            n++;
        }
    }
    return n;
}

void msb_http_server_stats(const msb_http_server_t *srv, msb_http_server_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        const msb_http_loop_t *w = &srv->workers[i];
        out->connections += atomic_load_explicit(&w->st_conns, memory_order_relaxed);
        out->requests_inflight += atomic_load_explicit(&w->st_inflight, memory_order_relaxed);
        out->requests_total += atomic_load_explicit(&w->st_total, memory_order_relaxed);
    }
}

MSB_INTERNAL void msb__http_worker_wake(msb_http_loop_t *w);
MSB_INTERNAL void msb__http_workers_join(msb_http_server_t *srv);

msb_status_t msb_http_server_stop(msb_http_server_t *srv, uint32_t timeout_ms, msb_error_t *err)
{
    if (!srv->started || srv->stopped) {
        return msb__err(err, MSB_EINVAL, "http server: not running");
    }
    srv->stopped = true;
    /* no allocation on this path: a flag and a wake-up of each loop's mailbox */
    atomic_store(&srv->stop_ms, timeout_ms);
    atomic_store(&srv->stop_requested, true);
    for (int i = 0; i < srv->nworkers; i++) {
        msb__http_worker_wake(&srv->workers[i]);
    }
    pthread_mutex_lock(&srv->stop_lock);
    while (srv->running > 0) {
        pthread_cond_wait(&srv->stop_cond, &srv->stop_lock);
    }
    pthread_mutex_unlock(&srv->stop_lock);
    msb__http_workers_join(srv);
    if (atomic_load(&srv->any_forced)) {
        return msb__err(err, MSB_ETIMEDOUT,
                        "http server: connections still open after the %u ms drain were closed",
                        timeout_ms);
    }
    return MSB_OK;
}
