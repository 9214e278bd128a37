/**
 * @file client_upstream.h
 * @brief Upstreams of the HTTP client: the policy of one dependency — base URL, default
 * headers, timeouts, retry policy and budget, circuit breaker, bulkhead, TLS — and the
 * classifier that says which outcomes are failures and which deserve a retry.
 *
 * Included by client.h; see there and docs/client.md.
 */
#ifndef MSB_CLIENT_UPSTREAM_H
#define MSB_CLIENT_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/breaker.h"
#include "msb/bulkhead.h"
#include "msb/clock.h"
#include "msb/error.h"
#include "msb/log.h"
#include "msb/metrics.h"
#include "msb/retry.h"

MSB_BEGIN_DECLS

/** @brief The policy of one dependency, shareable by every client (opaque). @since 0.1 */
typedef struct msb_client_upstream msb_client_upstream_t;

/* ------------------------------------------------------------------------------------------ */
/* Classifying outcomes                                                                       */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief How one attempt ended, as the classifier sees it.
 * @since 0.1
 */
typedef struct msb_client_outcome {
    size_t size;        /**< sizeof(msb_client_outcome_t) of the library that filled it */
    msb_status_t error; /**< #MSB_OK when a response arrived; else the transport failure
                             (#MSB_ETIMEDOUT, #MSB_EUNAVAIL, #MSB_EPROTO, #MSB_ETOOBIG, …) */
    int http_status;    /**< the response's status code; 0 when none arrived */
    const char *method; /**< the request method */
    bool idempotent;    /**< the method is idempotent, or the request was marked so */
    bool sent;          /**< the request may have reached the server (false: DNS failure,
                             connection refused or timed out, TLS handshake failure) */
} msb_client_outcome_t;

/**
 * @brief Decide what an attempt's outcome means for the breaker and for retries.
 * @param o the outcome (borrowed for the call).
 * @param breaker receives how the breaker counts it.
 * @param retry receives whether a retry is worth it (the retry policy, its budget and the
 * deadline still have their say).
 * @param user the `classify_user` of the upstream's options.
 * Called on the thread running the call (the loop's, or the blocking caller's); must be safe
 * from any thread when the upstream is shared.
 * @since 0.1
 */
typedef void (*msb_client_classify_fn)(const msb_client_outcome_t *o,
                                       msb_breaker_outcome_t *breaker, bool *retry, void *user);

/**
 * @brief The default classifier.
 *
 * Breaker: 5xx and transport failures (but #MSB_ETOOBIG and #MSB_ECANCELED) are failures; 1xx,
 * 2xx, 3xx are successes; 4xx (429 included) are ignored: the server answered, the request was
 * wrong or too many. Retry: transport failures other than #MSB_ETOOBIG, #MSB_EINVAL and
 * #MSB_ECANCELED, and the statuses 429, 502, 503 and 504 — when the request was not `sent` or
 * is `idempotent`. A 500 is not retried (it is usually a bug that would fail again).
 * @param o the outcome. @param breaker receives the breaker outcome.
 * @param retry receives whether to retry. @param user unused.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_client_classify_default(const msb_client_outcome_t *o,
                                         msb_breaker_outcome_t *breaker, bool *retry, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Upstreams                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Prometheus metrics of outbound calls, registered once in a registry and shared by every
 * upstream that reports to it (opaque).
 *
 * Families (labels in braces):
 * - `http_client_request_duration_seconds` histogram {upstream, method, status}: one observation
 *   per call, from msb_client_send() / msb_client_do() to its end, retries included; `status` is
 *   the final HTTP status code, or for a call that failed `timeout`, `unavailable`, `rejected`,
 *   `too_big`, `protocol_error`, `canceled`, `out_of_memory`. In OpenMetrics each bucket keeps the
 *   trace and span ids of its last sampled call as an exemplar.
 * - `http_client_attempts_total` counter {upstream, method, status}: every attempt; `status` is
 *   the status code or the attempt's `error.type` (`timeout`, `connection_refused`, `dns`, …).
 * - `http_client_rejected_total` counter {upstream, reason}: attempts refused by the `breaker` or
 *   the `bulkhead`, and retries refused by the retry `budget`.
 * - `http_client_requests_in_flight` gauge {upstream}: calls not yet finished.
 * @since 0.1
 */
typedef struct msb_client_metrics msb_client_metrics_t;

/**
 * @brief Register the client's metric families in a registry.
 * @param reg the registry (borrowed: it must outlive the metrics and every upstream using them).
 * @param out receives the metrics.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EEXIST when the registry already has one of the families (one
 * #msb_client_metrics_t per registry); #MSB_EINVAL (NULL argument); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_client_metrics_free() after the upstreams using it.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_client_metrics_new(msb_metrics_t *reg, msb_client_metrics_t **out,
                                            msb_error_t *err);

/**
 * @brief Unregister the families and free the metrics. NULL is a no-op.
 * Thread-safety: no upstream may be using them any more.
 * @since 0.1
 */
MSB_API void msb_client_metrics_free(msb_client_metrics_t *m);

/**
 * @brief TLS settings of an upstream. Initialise with #MSB_CLIENT_TLS_OPTS_INIT.
 *
 * Verification of the server's certificate chain and host name is on by default, against the
 * system's CA store (the one libcurl was built with).
 * @since 0.1
 */
typedef struct msb_client_tls_opts {
    size_t size;                   /**< sizeof(msb_client_tls_opts_t), set by the initialiser */
    bool insecure_skip_verify;     /**< true: verify neither chain nor host name (tests only).
                                        Default false */
    const char *ca_file;           /**< PEM bundle of trusted CAs; NULL: the system's */
    const char *ca_path;           /**< directory of hashed CA certificates; NULL: the system's */
    const char *cert_file;         /**< client certificate (PEM) for mutual TLS; NULL: none */
    const char *key_file;          /**< its private key (PEM); NULL: in `cert_file` */
    const char *key_password;      /**< the key's passphrase; NULL: none */
    const char *pinned_public_key; /**< "sha256//<base64>[;sha256//…]" or a PEM/DER file:
                                        the server's public key must match; NULL: no pinning */
} msb_client_tls_opts_t;

/** @brief Defaults of #msb_client_tls_opts_t. @since 0.1 */
#define MSB_CLIENT_TLS_OPTS_INIT                                                                   \
    {                                                                                              \
        .size = sizeof(msb_client_tls_opts_t), .insecure_skip_verify = false, .ca_file = NULL,     \
        .ca_path = NULL, .cert_file = NULL, .key_file = NULL, .key_password = NULL,                \
        .pinned_public_key = NULL                                                                  \
    }

/**
 * @brief Upstream options. Initialise with #MSB_CLIENT_UPSTREAM_OPTS_INIT, then change fields.
 *
 * The three resilience parts — retry, breaker, bulkhead — are each made by the upstream from
 * their options (NULL: the defaults described on the field), or borrowed from the caller to
 * share them with other upstreams, or turned off.
 * @since 0.1
 */
typedef struct msb_client_upstream_opts {
    size_t size;                 /**< sizeof(msb_client_upstream_opts_t), set by the initialiser */
    const char *name;            /**< for errors, logs, the breaker; copied. NULL: the base
                                      URL's host:port, or "default" without a base URL */
    const char *base_url;        /**< `http[s]://host[:port][/prefix]`; request paths are appended.
                                      NULL: requests give absolute URLs */
    const char *const *headers;  /**< NULL-terminated "Name: value" lines sent with every request
                                      (a request's own header of the same name wins); copied */
    const msb_clock_t *clock;    /**< for the breaker, bulkhead and retry policy made here.
                                      NULL: msb_clock_real() */
    uint64_t connect_timeout_ns; /**< bound on DNS + TCP + TLS of one attempt, >= 1 ms.
                                      Default 2 s */
    uint64_t timeout_ns;         /**< bound on one attempt, connection included, >= 1 ms.
                                      Default 10 s */
    uint64_t call_timeout_ns;    /**< bound on the whole call, retries and backoff included;
                                      0 (default): none beyond the attempts' own */
    uint64_t max_response_bytes; /**< largest response (headers + body) accepted; larger ones
                                      are cut off with #MSB_ETOOBIG. 0: no limit. Default 8 MiB */
    const msb_retry_opts_t *retry;          /**< retry policy; its `retryable` is replaced by the
                                                 classifier. NULL: retry.h's defaults (3 attempts, 100 ms
                                                 backoff with full jitter, own budget) */
    const msb_breaker_opts_t *breaker_opts; /**< breaker made for this upstream; NULL:
                                                 breaker.h's defaults, named after the upstream */
    msb_breaker_t *breaker; /**< a breaker to use instead, borrowed (must outlive the
                                 upstream); NULL: make one */
    const msb_bulkhead_opts_t *bulkhead_opts; /**< bulkhead made for this upstream; NULL: 256
                                                   concurrent attempts, no wait. Its
                                                   `max_wait_ns` also bounds how long a loop call
                                                   stays parked for a place */
    msb_bulkhead_t *bulkhead;            /**< a bulkhead to use instead, borrowed; NULL: make one */
    msb_client_classify_fn classify;     /**< NULL: msb_client_classify_default() */
    void *classify_user;                 /**< passed to `classify` */
    const msb_client_tls_opts_t *tls;    /**< NULL: verify against the system's CAs; copied */
    msb_log_t *log;                      /**< retries (debug) and breaker state changes (warn) are
                                              logged here; NULL: msb_log_default() */
    const msb_client_metrics_t *metrics; /**< where calls are counted, borrowed (must outlive
                                              the upstream); NULL: no metrics */
    uint32_t max_redirects;              /**< redirects followed, 0..50; 0 (the default): none, a
                                              3xx is the response */
    bool no_retry;                       /**< true: one attempt only. Default false */
    bool no_breaker;                     /**< true: no breaker. Default false */
    bool no_bulkhead;                    /**< true: no bulkhead. Default false */
    bool no_deadline_header;             /**< true: never send the remaining-time header to this
                                              upstream (a third party). Default false */
} msb_client_upstream_opts_t;

/** @brief Defaults of #msb_client_upstream_opts_t. @since 0.1 */
#define MSB_CLIENT_UPSTREAM_OPTS_INIT                                                              \
    {                                                                                              \
        .size = sizeof(msb_client_upstream_opts_t), .name = NULL, .base_url = NULL,                \
        .headers = NULL, .clock = NULL, .connect_timeout_ns = 2 * MSB_SEC,                         \
        .timeout_ns = 10 * MSB_SEC, .call_timeout_ns = 0, .max_response_bytes = (uint64_t)8 << 20, \
        .retry = NULL, .breaker_opts = NULL, .breaker = NULL, .bulkhead_opts = NULL,               \
        .bulkhead = NULL, .classify = NULL, .classify_user = NULL, .tls = NULL, .log = NULL,       \
        .metrics = NULL, .max_redirects = 0, .no_retry = false, .no_breaker = false,               \
        .no_bulkhead = false, .no_deadline_header = false                                          \
    }

/**
 * @brief Counters of an upstream, from msb_client_upstream_stats(). All since creation.
 * @since 0.1
 */
typedef struct msb_client_upstream_stats {
    size_t size;                /**< set by the caller: sizeof(msb_client_upstream_stats_t) */
    uint64_t calls;             /**< calls started (msb_client_send(), msb_client_do()) */
    uint64_t attempts;          /**< attempts sent */
    uint64_t retries;           /**< attempts after the first */
    uint64_t responses;         /**< calls that ended with a response */
    uint64_t errors;            /**< calls that ended with an error */
    uint64_t breaker_rejected;  /**< attempts refused by the open breaker */
    uint64_t bulkhead_rejected; /**< attempts refused by the full bulkhead */
    uint64_t budget_exhausted;  /**< retries refused by the retry budget */
    uint64_t timeouts;          /**< attempts that timed out (or were cut by the deadline) */
    uint64_t in_flight;         /**< calls not finished now */
} msb_client_upstream_stats_t;

/**
 * @brief Create an upstream.
 * @param opts options (NULL: all defaults: no base URL, absolute URLs only).
 * @param out receives the upstream.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EINVAL naming the option (a base URL that is not http/https, a header
 * line that is not "Name: value", a timeout out of range, bad retry/breaker/bulkhead options);
 * #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_client_upstream_free() after the last call using it
 * has finished. Strings and `tls` are copied; `breaker`, `bulkhead` and `retry->budget` are
 * borrowed.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_client_upstream_new(const msb_client_upstream_opts_t *opts,
                                             msb_client_upstream_t **out, msb_error_t *err);

/**
 * @brief Free an upstream (and the breaker, bulkhead and retry policy it made). NULL is a no-op.
 * Thread-safety: no call may be using it any more.
 * @since 0.1
 */
MSB_API void msb_client_upstream_free(msb_client_upstream_t *u);

/**
 * @brief The upstream's name. @return borrowed text, valid until msb_client_upstream_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_client_upstream_name(const msb_client_upstream_t *u);

/**
 * @brief The upstream's breaker (its own or the borrowed one), to read its state or force it.
 * @return borrowed, or NULL with `no_breaker`. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_breaker_t *msb_client_upstream_breaker(const msb_client_upstream_t *u);

/**
 * @brief The upstream's bulkhead. @return borrowed, or NULL with `no_bulkhead`.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_bulkhead_t *msb_client_upstream_bulkhead(const msb_client_upstream_t *u);

/**
 * @brief The upstream's retry policy (its budget: msb_retry_budget()).
 * @return borrowed, or NULL with `no_retry`. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_retry_t *msb_client_upstream_retry(const msb_client_upstream_t *u);

/**
 * @brief Read the upstream's counters.
 * @param u the upstream. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread (each counter is read atomically).
 * @since 0.1
 */
MSB_API void msb_client_upstream_stats(const msb_client_upstream_t *u,
                                       msb_client_upstream_stats_t *out);

MSB_END_DECLS

#endif /* MSB_CLIENT_UPSTREAM_H */
