/*
 * Upstreams: the policy of one dependency (base URL, headers, timeouts, retry, breaker,
 * bulkhead, TLS, classifier), shared by every client and thread, and the default classifier.
 */
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#define MIN_TIMEOUT_NS ((uint64_t)MSB_MSEC)
#define MAX_TIMEOUT_NS ((uint64_t)24 * 3600 * MSB_SEC)

void msb_client_classify_default(const msb_client_outcome_t *o, msb_breaker_outcome_t *breaker,
                                 bool *retry, void *user)
{
    MSB_UNUSED(user);
    bool may_repeat = !o->sent || o->idempotent;
    if (o->error != MSB_OK) {
        bool ours = o->error == MSB_ETOOBIG || o->error == MSB_ECANCELED ||
                    o->error == MSB_EINVAL || o->error == MSB_ENOMEM;
        *breaker = ours ? MSB_BREAKER_IGNORED : MSB_BREAKER_FAILURE;
        *retry = !ours && may_repeat;
        return;
    }
    int s = o->http_status;
    if (s >= 500) {
        *breaker = MSB_BREAKER_FAILURE;
    } else if (s >= 400) {
        *breaker = MSB_BREAKER_IGNORED;
    } else {
        *breaker = MSB_BREAKER_SUCCESS;
    }
    *retry = may_repeat && (s == 429 || s == 502 || s == 503 || s == 504);
}

/* The retry policy's predicate: the classifier has decided already (detail is the flag). */
static bool retry_pred(msb_status_t status, const void *detail, void *user)
{
    MSB_UNUSED(status);
    MSB_UNUSED(user);
    return detail != NULL && *(const bool *)detail;
}

static void on_breaker_change(msb_breaker_t *b, msb_breaker_state_t from, msb_breaker_state_t to,
                              void *user)
{
    msb_client_upstream_t *u = user;
    msb_log_write(u->log, to == MSB_BREAKER_CLOSED ? MSB_LOG_INFO : MSB_LOG_WARN,
                  "client: breaker state changed",
                  MSB_LOG_FIELDS(MSB_LOG_STR("upstream", u->name),
                                 MSB_LOG_STR("breaker", msb_breaker_name(b)),
                                 MSB_LOG_STR("from", msb_breaker_state_name(from)),
                                 MSB_LOG_STR("to", msb_breaker_state_name(to))));
}

static msb_status_t copy_str(char **dst, const char *src, msb_error_t *err)
{
    if (src == NULL) {
        return MSB_OK;
    }
    *dst = msb__strdup(src);
    return *dst != NULL ? MSB_OK : msb__err_nomem(err, "an upstream");
}

static msb_status_t check_timeout(const char *field, uint64_t v, bool zero_ok, msb_error_t *err)
{
    if ((v == 0 && zero_ok) || (v >= MIN_TIMEOUT_NS && v <= MAX_TIMEOUT_NS)) {
        return MSB_OK;
    }
    return msb__err(err, MSB_EINVAL, "client: upstream %s %llu ns is not in [1 ms, 24 h]%s", field,
                    (unsigned long long)v, zero_ok ? " (or 0)" : "");
}

static msb_status_t set_base(msb_client_upstream_t *u, const char *base, msb_error_t *err)
{
    msb__url_t url;
    msb_status_t rc = msb__client_url_parse(base, &url, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: upstream base_url: ");
    }
    if (strpbrk(base + url.rest, "?#") != NULL) {
        return msb__err(err, MSB_EINVAL,
                        "client: upstream base_url must not hold a query or "
                        "fragment");
    }
    size_t n = strlen(base);
    while (n > url.rest && base[n - 1] == '/') {
        n--;
    }
    u->base_url = msb__strndup(base, n);
    if (u->base_url == NULL) {
        return msb__err_nomem(err, "an upstream");
    }
    if (u->name == NULL) {
        msb__buf_t b = MSB__BUF_INIT;
        msb__buf_append(&b, url.host, url.host_len);
        msb__buf_putc(&b, ':');
        msb__buf_put_u64(&b, url.port);
        if (msb__buf_status(&b) != MSB_OK) {
            msb__buf_free(&b);
            return msb__err_nomem(err, "an upstream");
        }
        u->name = msb__buf_steal(&b, NULL);
        if (u->name == NULL) {
            return msb__err_nomem(err, "an upstream");
        }
    }
    return MSB_OK;
}

static msb_status_t set_headers(msb_client_upstream_t *u, const char *const *h, msb_error_t *err)
{
    size_t n = 0;
    while (h != NULL && h[n] != NULL) {
        msb_status_t rc = msb__client_header_check(h[n], "upstream header", err);
        if (rc != MSB_OK) {
            return rc;
        }
        n++;
    }
    if (n > MSB__CLIENT_MAX_HEADERS / 2) {
        return msb__err(err, MSB_EINVAL, "client: upstream has %zu headers (at most %d)", n,
                        MSB__CLIENT_MAX_HEADERS / 2);
    }
    u->headers = msb__calloc(n + 1, sizeof(char *));
    if (u->headers == NULL) {
        return msb__err_nomem(err, "upstream headers");
    }
    for (size_t i = 0; i < n; i++) {
        u->headers[i] = msb__strdup(h[i]);
        if (u->headers[i] == NULL) {
            return msb__err_nomem(err, "upstream headers");
        }
        u->nheaders = i + 1;
    }
    return MSB_OK;
}

static msb_status_t set_tls(msb_client_upstream_t *u, const msb_client_tls_opts_t *t,
                            msb_error_t *err)
{
    if (t == NULL) {
        return MSB_OK;
    }
    u->has_tls = true;
    u->tls.insecure = MSB_OPT_HAS(t, insecure_skip_verify) && t->insecure_skip_verify;
    msb_status_t rc = MSB_OK;
    if (rc == MSB_OK && MSB_OPT_HAS(t, ca_file)) {
        rc = copy_str((char **)&u->tls.ca_file, t->ca_file, err);
    }
    if (rc == MSB_OK && MSB_OPT_HAS(t, ca_path)) {
        rc = copy_str((char **)&u->tls.ca_path, t->ca_path, err);
    }
    if (rc == MSB_OK && MSB_OPT_HAS(t, cert_file)) {
        rc = copy_str((char **)&u->tls.cert_file, t->cert_file, err);
    }
    if (rc == MSB_OK && MSB_OPT_HAS(t, key_file)) {
        rc = copy_str((char **)&u->tls.key_file, t->key_file, err);
    }
    if (rc == MSB_OK && MSB_OPT_HAS(t, key_password)) {
        rc = copy_str((char **)&u->tls.key_password, t->key_password, err);
    }
    if (rc == MSB_OK && MSB_OPT_HAS(t, pinned_public_key)) {
        rc = copy_str((char **)&u->tls.pinned_public_key, t->pinned_public_key, err);
    }
    return rc;
}

static msb_status_t make_retry(msb_client_upstream_t *u, const msb_client_upstream_opts_t *o,
                               const msb_clock_t *clock, msb_error_t *err)
{
    u->max_attempts = 1;
    if (o->no_retry) {
        return MSB_OK;
    }
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    if (o->retry != NULL) {
        size_t n = o->retry->size < sizeof(ro) ? o->retry->size : sizeof(ro);
        memcpy(&ro, o->retry, n);
        ro.size = sizeof(ro);
    }
    if (ro.clock == NULL) {
        ro.clock = clock;
    }
    ro.retryable = retry_pred;
    ro.user = NULL;
    msb_status_t rc = msb_retry_new(&ro, &u->retry, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: upstream retry: ");
    }
    u->max_attempts = ro.max_attempts;
    return MSB_OK;
}

static msb_status_t make_breaker(msb_client_upstream_t *u, const msb_client_upstream_opts_t *o,
                                 const msb_clock_t *clock, msb_error_t *err)
{
    if (o->no_breaker) {
        return MSB_OK;
    }
    if (o->breaker != NULL) {
        u->breaker = o->breaker;
        return MSB_OK;
    }
    msb_breaker_opts_t bo = MSB_BREAKER_OPTS_INIT;
    if (o->breaker_opts != NULL) {
        size_t n = o->breaker_opts->size < sizeof(bo) ? o->breaker_opts->size : sizeof(bo);
        memcpy(&bo, o->breaker_opts, n);
        bo.size = sizeof(bo);
    }
    if (bo.name == NULL) {
        bo.name = u->name;
    }
    if (bo.clock == NULL) {
        bo.clock = clock;
    }
    if (bo.on_state_change == NULL) {
        bo.on_state_change = on_breaker_change;
        bo.user = u;
    }
    msb_status_t rc = msb_breaker_new(&bo, &u->breaker, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: upstream breaker: ");
    }
    u->own_breaker = true;
    return MSB_OK;
}

static msb_status_t make_bulkhead(msb_client_upstream_t *u, const msb_client_upstream_opts_t *o,
                                  const msb_clock_t *clock, msb_error_t *err)
{
    if (o->no_bulkhead) {
        return MSB_OK;
    }
    if (o->bulkhead != NULL) {
        u->bulkhead = o->bulkhead;
        return MSB_OK;
    }
    msb_bulkhead_opts_t bo = MSB_BULKHEAD_OPTS_INIT;
    bo.max_concurrent = 256;
    if (o->bulkhead_opts != NULL) {
        size_t n = o->bulkhead_opts->size < sizeof(bo) ? o->bulkhead_opts->size : sizeof(bo);
        memcpy(&bo, o->bulkhead_opts, n);
        bo.size = sizeof(bo);
    }
    if (bo.clock == NULL) {
        bo.clock = clock;
    }
    msb_status_t rc = msb_bulkhead_new(&bo, &u->bulkhead, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: upstream bulkhead: ");
    }
    u->own_bulkhead = true;
    u->bulkhead_wait_ns = bo.max_wait_ns;
    return MSB_OK;
}

static msb_status_t read_opts(msb_client_upstream_t *u, const msb_client_upstream_opts_t *o,
                              msb_error_t *err)
{
    msb_status_t rc = copy_str(&u->name, o->name, err);
    if (rc == MSB_OK && o->base_url != NULL) {
        rc = set_base(u, o->base_url, err);
    }
    if (rc == MSB_OK && u->name == NULL) {
        rc = copy_str(&u->name, "default", err);
    }
    if (rc == MSB_OK) {
        rc = set_headers(u, o->headers, err);
    }
    if (rc == MSB_OK) {
        rc = check_timeout("connect_timeout_ns", o->connect_timeout_ns, false, err);
    }
    if (rc == MSB_OK) {
        rc = check_timeout("timeout_ns", o->timeout_ns, false, err);
    }
    if (rc == MSB_OK) {
        rc = check_timeout("call_timeout_ns", o->call_timeout_ns, true, err);
    }
    if (rc == MSB_OK && o->max_redirects > 50) {
        rc = msb__err(err, MSB_EINVAL, "client: upstream max_redirects %u is over 50",
                      o->max_redirects);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    u->connect_timeout_ns = o->connect_timeout_ns;
    u->timeout_ns = o->timeout_ns;
    u->call_timeout_ns = o->call_timeout_ns;
    u->max_response = o->max_response_bytes;
    u->max_redirects = o->max_redirects;
    u->classify = o->classify != NULL ? o->classify : msb_client_classify_default;
    u->classify_user = o->classify_user;
    u->send_deadline = !o->no_deadline_header;
    u->log = o->log;
    u->metrics = o->metrics;
    return set_tls(u, o->tls, err);
}

msb_status_t msb_client_upstream_new(const msb_client_upstream_opts_t *opts,
                                     msb_client_upstream_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "client: out must not be NULL");
    }
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    if (opts != NULL) {
        size_t n = opts->size < sizeof(o) ? opts->size : sizeof(o);
        memcpy(&o, opts, n);
    }
    msb_client_upstream_t *u = msb__calloc(1, sizeof(*u));
    if (u == NULL) {
        return msb__err_nomem(err, "an upstream");
    }
    msb_status_t rc = read_opts(u, &o, err);
    if (rc == MSB_OK) {
        rc = make_retry(u, &o, o.clock, err);
    }
    if (rc == MSB_OK) {
        rc = make_breaker(u, &o, o.clock, err);
    }
    if (rc == MSB_OK) {
        rc = make_bulkhead(u, &o, o.clock, err);
    }
    if (rc == MSB_OK) {
        rc = msb__client_metrics_bind(u, err);
    }
    if (rc != MSB_OK) {
        msb_client_upstream_free(u);
        return rc;
    }
    *out = u;
    return MSB_OK;
}

void msb_client_upstream_free(msb_client_upstream_t *u)
{
    if (u == NULL) {
        return;
    }
    if (u->own_breaker) {
        msb_breaker_free(u->breaker);
    }
    if (u->own_bulkhead) {
        msb_bulkhead_free(u->bulkhead);
    }
    msb_retry_free(u->retry);
    for (size_t i = 0; i < u->nheaders; i++) {
        msb__free(u->headers[i]);
    }
    msb__free(u->headers);
    msb__free((void *)u->tls.ca_file);
    msb__free((void *)u->tls.ca_path);
    msb__free((void *)u->tls.cert_file);
    msb__free((void *)u->tls.key_file);
    msb__free((void *)u->tls.key_password);
    msb__free((void *)u->tls.pinned_public_key);
    msb__free(u->base_url);
    msb__free(u->name);
    msb__free(u);
}

const char *msb_client_upstream_name(const msb_client_upstream_t *u)
{
    return u != NULL ? u->name : "";
}

msb_breaker_t *msb_client_upstream_breaker(const msb_client_upstream_t *u)
{
    return u != NULL ? u->breaker : NULL;
}

msb_bulkhead_t *msb_client_upstream_bulkhead(const msb_client_upstream_t *u)
{
    return u != NULL ? u->bulkhead : NULL;
}

msb_retry_t *msb_client_upstream_retry(const msb_client_upstream_t *u)
{
    return u != NULL ? u->retry : NULL;
}

void msb_client_upstream_stats(const msb_client_upstream_t *u, msb_client_upstream_stats_t *out)
{
    if (u == NULL || out == NULL) {
        return;
    }
    msb_client_upstream_stats_t s;
    memset(&s, 0, sizeof(s));
    s.size = out->size;
    s.calls = atomic_load(&u->n.calls);
    s.attempts = atomic_load(&u->n.attempts);
    s.retries = atomic_load(&u->n.retries);
    s.responses = atomic_load(&u->n.responses);
    s.errors = atomic_load(&u->n.errors);
    s.breaker_rejected = atomic_load(&u->n.breaker_rejected);
    s.bulkhead_rejected = atomic_load(&u->n.bulkhead_rejected);
    s.budget_exhausted = atomic_load(&u->n.budget_exhausted);
    s.timeouts = atomic_load(&u->n.timeouts);
    s.in_flight = atomic_load(&u->n.in_flight);
    size_t n = out->size < sizeof(s) ? out->size : sizeof(s);
    memcpy(out, &s, n);
}
