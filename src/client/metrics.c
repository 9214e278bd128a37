/* Prometheus metrics of outbound calls (client_upstream.h, msb_client_metrics_t). */
#include <stdio.h>
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define F_DURATION  "http_client_request_duration_seconds"
#define F_ATTEMPTS  "http_client_attempts_total"
#define F_REJECTED  "http_client_rejected_total"
#define F_IN_FLIGHT "http_client_requests_in_flight"

struct msb_client_metrics {
    msb_metrics_t *reg;
    msb_histogram_vec_t *duration;
    msb_counter_vec_t *attempts;
    msb_counter_vec_t *rejected;
    msb_gauge_vec_t *in_flight;
};

static const char *const reasons[] = {"breaker", "bulkhead", "budget"};

static msb_metric_opts_t family(const char *name, const char *help, const char *const *labels,
                                size_t n)
{
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = name;
    o.help = help;
    o.label_names = labels;
    o.label_count = n;
    return o;
}

msb_status_t msb_client_metrics_new(msb_metrics_t *reg, msb_client_metrics_t **out,
                                    msb_error_t *err)
{
    if (reg == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "client: metrics: %s must not be NULL",
                        reg == NULL ? "registry" : "out");
    }
    msb_client_metrics_t *m = msb__calloc(1, sizeof(*m));
    if (m == NULL) {
        return msb__err_nomem(err, "client metrics");
    }
    m->reg = reg;
    static const char *const call_labels[] = {"upstream", "method", "status"};
    static const char *const rej_labels[] = {"upstream", "reason"};
    static const char *const up_labels[] = {"upstream"};
    msb_metric_opts_t o = family(F_DURATION,
                                 "Duration of outbound HTTP calls, retries included, by final "
                                 "status.",
                                 call_labels, 3);
    o.unit = "seconds";
    msb_status_t rc = msb_histogram_vec_new(reg, &o, &m->duration, err);
    if (rc == MSB_OK) {
        o = family(F_ATTEMPTS, "Outbound HTTP attempts, by status or error type.", call_labels, 3);
        rc = msb_counter_vec_new(reg, &o, &m->attempts, err);
    }
    if (rc == MSB_OK) {
        o = family(F_REJECTED,
                   "Outbound attempts refused by the breaker or the bulkhead, and retries "
                   "refused by the retry budget.",
                   rej_labels, 2);
        rc = msb_counter_vec_new(reg, &o, &m->rejected, err);
    }
    if (rc == MSB_OK) {
        o = family(F_IN_FLIGHT, "Outbound HTTP calls not yet finished.", up_labels, 1);
        rc = msb_gauge_vec_new(reg, &o, &m->in_flight, err);
    }
    if (rc != MSB_OK) {
        msb_client_metrics_free(m);
        return msb__err_prefix(err, rc, "client: metrics: ");
    }
    *out = m;
    return MSB_OK;
}

void msb_client_metrics_free(msb_client_metrics_t *m)
{
    if (m == NULL) {
        return;
    }
    if (m->duration != NULL) {
        msb_metrics_unregister(m->reg, F_DURATION, NULL);
    }
    if (m->attempts != NULL) {
        msb_metrics_unregister(m->reg, F_ATTEMPTS, NULL);
    }
    if (m->rejected != NULL) {
        msb_metrics_unregister(m->reg, F_REJECTED, NULL);
    }
    if (m->in_flight != NULL) {
        msb_metrics_unregister(m->reg, F_IN_FLIGHT, NULL);
    }
    msb__free(m);
}

msb_status_t msb__client_metrics_bind(msb_client_upstream_t *u, msb_error_t *err)
{
    const msb_client_metrics_t *m = u->metrics;
    if (m == NULL) {
        return MSB_OK;
    }
    const char *v[] = {u->name};
    msb_status_t rc = msb_gauge_vec_get(m->in_flight, v, &u->m_in_flight, err);
    for (size_t i = 0; rc == MSB_OK && i < MSB_ARRAY_LEN(reasons); i++) {
        const char *rv[] = {u->name, reasons[i]};
        rc = msb_counter_vec_get(m->rejected, rv, &u->m_rejected[i], err);
    }
    return rc == MSB_OK ? MSB_OK : msb__err_prefix(err, rc, "client: upstream metrics: ");
}

void msb__client_metrics_reject(msb_client_upstream_t *u, msb__reject_t reason)
{
    if (u->metrics != NULL) {
        msb_counter_inc(u->m_rejected[reason]);
    }
}

void msb__client_metrics_in_flight(msb_client_upstream_t *u, double delta)
{
    if (u->metrics != NULL) {
        msb_gauge_add(u->m_in_flight, delta);
    }
}

void msb__client_metrics_attempt(const msb__call_t *c, int http_status, const char *error_type)
{
    const msb_client_metrics_t *m = c->up->metrics;
    if (m == NULL) {
        return;
    }
    char code[16];
    const char *status = error_type;
    if (http_status > 0) {
        snprintf(code, sizeof(code), "%d", http_status);
        status = code;
    }
    const char *v[] = {c->up->name, c->method, status != NULL ? status : "error"};
    msb_counter_t *ctr = NULL;
    if (msb_counter_vec_get(m->attempts, v, &ctr, NULL) == MSB_OK) {
        msb_counter_inc(ctr);
    }
}

static const char *status_label(msb_status_t st)
{
    switch (st) {
    case MSB_ETIMEDOUT:
        return "timeout";
    case MSB_EUNAVAIL:
        return "unavailable";
    case MSB_EREJECTED:
        return "rejected";
    case MSB_ETOOBIG:
        return "too_big";
    case MSB_EPROTO:
        return "protocol_error";
    case MSB_ECANCELED:
        return "canceled";
    case MSB_ENOMEM:
        return "out_of_memory";
    default:
        return "error";
    }
}

void msb__client_metrics_call(const msb__call_t *c, msb_status_t st, int http_status,
                              double seconds)
{
    const msb_client_metrics_t *m = c->up->metrics;
    if (m == NULL) {
        return;
    }
    char code[16];
    const char *status = status_label(st);
    if (st == MSB_OK) {
        snprintf(code, sizeof(code), "%d", http_status);
        status = code;
    }
    const char *v[] = {c->up->name, c->method, status};
    msb_histogram_t *h = NULL;
    if (msb_histogram_vec_get(m->duration, v, &h, NULL) != MSB_OK) {
        return;
    }
    if (c->ex_trace[0] != '\0') {
        msb_exemplar_t ex = {c->ex_trace, c->ex_span, NULL, 0, 0};
        if (msb_histogram_observe_exemplar(h, seconds, &ex, NULL) == MSB_OK) {
            return;
        }
    }
    msb_histogram_observe(h, seconds);
}
