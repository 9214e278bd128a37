/**
 * @file http_middleware.h
 * @brief The middleware chain and the middleware libmsb provides: request id, CORS, security
 * headers, gzip.
 *
 * A middleware is three optional hooks (docs/http.md, "Middleware"):
 *
 * - `on_request` runs in chain order once the request head is in, before the body is read: it
 *   may look at the request, add response headers, answer (rate limit, CORS preflight, auth) and
 *   stop the chain, or pause it and resume later (an asynchronous check);
 * - `on_response` runs in reverse order when the response is about to be serialized: it may
 *   change the status' headers or replace the body (compression);
 * - `on_complete` runs in reverse order once the response is queued or the request abandoned:
 *   the place for logs, metrics, spans and releasing limiter slots.
 *
 * The hooks of a middleware whose on_request ran are the ones that run afterwards. For an answer
 * the server gives before routing (a malformed request, a limit exceeded in the head) the root
 * chain's on_response and on_complete run without on_request, with zeroed state. Each
 * middleware may ask for `state_size` bytes of zeroed per-request memory, handed to every hook.
 * Hooks run on the request's loop thread. Included by http.h.
 */
#ifndef MSB_HTTP_MIDDLEWARE_H
#define MSB_HTTP_MIDDLEWARE_H

#include "msb/http.h"

MSB_BEGIN_DECLS

/** @brief What an on_request hook decided. @since 0.1 */
typedef enum msb_http_mw_result {
    MSB_HTTP_NEXT = 0, /**< go on with the next middleware, then the handler */
    MSB_HTTP_DONE = 1, /**< the hook answered: stop the chain (no answer gives a 500) */
    MSB_HTTP_PAUSE = 2 /**< the hook will call msb_http_mw_resume() or answer, later */
} msb_http_mw_result_t;

/** @brief The hooks of a middleware. Initialise with #MSB_HTTP_MW_OPS_INIT. @since 0.1 */
typedef struct msb_http_mw_ops {
    size_t size;       /**< sizeof(msb_http_mw_ops_t) */
    const char *name;  /**< for diagnostics ("cors"); copied */
    size_t state_size; /**< zeroed per-request bytes handed to the hooks (0: NULL state) */
    /** Before the body is read; see the file description. */
    msb_http_mw_result_t (*on_request)(msb_http_req_t *req, void *state, void *user);
    /** Before the response is serialized. */
    void (*on_response)(msb_http_req_t *req, void *state, void *user);
    /** After the response is queued, or the request abandoned (msb_http_responded() tells). */
    void (*on_complete)(msb_http_req_t *req, void *state, void *user);
    /** Frees `user` when the last reference to the middleware goes. */
    void (*destroy)(void *user);
} msb_http_mw_ops_t;

/** @brief Initialiser of #msb_http_mw_ops_t: no hooks. @since 0.1 */
#define MSB_HTTP_MW_OPS_INIT                                                                       \
    {                                                                                              \
        sizeof(msb_http_mw_ops_t), "middleware", 0, NULL, NULL, NULL, NULL                         \
    }

/**
 * @brief Make a middleware from hooks.
 * @param ops the hooks (copied).
 * @param user passed to every hook; freed by ops->destroy with the middleware.
 * @param out receives the middleware.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL, #MSB_ENOMEM (ops->destroy is then not called).
 * Ownership: *out is new, with one reference; release it with msb_http_mw_free().
 * Thread-safety: any thread; the middleware may serve every loop at once, so its hooks must be
 * safe for that (per-request state is not shared).
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_new(const msb_http_mw_ops_t *ops, void *user, msb_http_mw_t **out,
                                     msb_error_t *err);

/**
 * @brief Release a reference to a middleware (groups hold their own). NULL is a no-op.
 * Thread-safety: any thread.
 * @since 0.1
 */
MSB_API void msb_http_mw_free(msb_http_mw_t *mw);

/**
 * @brief Resume a chain paused by an on_request hook that returned #MSB_HTTP_PAUSE.
 * @return #MSB_OK, #MSB_EINVAL (the chain was not paused). Thread-safety: the request's loop
 * thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_resume(msb_http_req_t *req);

/** @brief Options of the request-id middleware. @since 0.1 */
typedef struct msb_http_request_id_opts {
    size_t size;       /**< sizeof(msb_http_request_id_opts_t) */
    bool trust_header; /**< accept a sane incoming X-Request-Id (1-128 of [A-Za-z0-9._:+/=-]);
                            default true */
    bool echo;         /**< send X-Request-Id on the response; default true */
} msb_http_request_id_opts_t;

/** @brief Initialiser with the defaults. @since 0.1 */
#define MSB_HTTP_REQUEST_ID_OPTS_INIT                                                              \
    {                                                                                              \
        sizeof(msb_http_request_id_opts_t), true, true                                             \
    }

/**
 * @brief The request-id middleware: msb_http_req_id() becomes the incoming X-Request-Id when it
 * is sane, else 128 random bits in hex; the response carries it.
 * @return #MSB_OK or #MSB_ENOMEM. Ownership: *out is new (msb_http_mw_free()).
 * Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_request_id_new(const msb_http_request_id_opts_t *opts,
                                                msb_http_mw_t **out, msb_error_t *err);

/** @brief Options of the CORS middleware (Fetch standard, "CORS protocol"). @since 0.1 */
typedef struct msb_http_cors_opts {
    size_t size;                /**< sizeof(msb_http_cors_opts_t) */
    const char *const *origins; /**< allowed origins ("https://app.example"), NULL-ended;
                                     "*" allows any (not with credentials) */
    const char *const *methods; /**< allowed methods, NULL-ended; NULL: the route's */
    const char *const *headers; /**< allowed request headers, NULL-ended; NULL: none
                                     beyond the CORS-safelisted ones */
    const char *const *expose;  /**< response headers exposed to scripts, NULL-ended */
    bool credentials;           /**< send Access-Control-Allow-Credentials: true */
    uint32_t max_age_s;         /**< preflight cache lifetime; default 600 */
} msb_http_cors_opts_t;

/** @brief Initialiser: no origin allowed, max-age 600 s. @since 0.1 */
#define MSB_HTTP_CORS_OPTS_INIT                                                                    \
    {                                                                                              \
        sizeof(msb_http_cors_opts_t), NULL, NULL, NULL, NULL, false, 600                           \
    }

/**
 * @brief The CORS middleware: answers preflights (204 with the allowed method, headers and
 * max-age, or 403 problem for a disallowed origin, method or header) and adds
 * Access-Control-Allow-Origin (the origin itself, with `Vary: Origin`) to allowed requests.
 * @return #MSB_OK, #MSB_EINVAL ("*" with credentials — the Fetch standard forbids it —, an
 * origin that is not scheme://host[:port], a method or header that is not a token),
 * #MSB_ENOMEM. Ownership: *out is new; the lists are copied. Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_cors_new(const msb_http_cors_opts_t *opts, msb_http_mw_t **out,
                                          msb_error_t *err);

/** @brief Options of the security-headers middleware (NULL fields send nothing). @since 0.1 */
typedef struct msb_http_security_opts {
    size_t size;                 /**< sizeof(msb_http_security_opts_t) */
    const char *hsts;            /**< Strict-Transport-Security, only on TLS connections;
                                      default "max-age=31536000; includeSubDomains" */
    const char *frame_options;   /**< X-Frame-Options; default "DENY" */
    const char *csp;             /**< Content-Security-Policy; default
                                      "default-src 'none'; frame-ancestors 'none'" */
    const char *referrer_policy; /**< Referrer-Policy; default "no-referrer" */
    bool nosniff;                /**< X-Content-Type-Options: nosniff; default true */
} msb_http_security_opts_t;

/** @brief Initialiser with the defaults (suited to JSON APIs). @since 0.1 */
#define MSB_HTTP_SECURITY_OPTS_INIT                                                                \
    {                                                                                              \
        sizeof(msb_http_security_opts_t), "max-age=31536000; includeSubDomains", "DENY",           \
            "default-src 'none'; frame-ancestors 'none'", "no-referrer", true                      \
    }

/**
 * @brief The security-headers middleware: adds each configured header the handler did not set.
 * @return #MSB_OK, #MSB_EINVAL (a value with control characters), #MSB_ENOMEM.
 * Ownership: *out is new; strings are copied. Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_security_new(const msb_http_security_opts_t *opts,
                                              msb_http_mw_t **out, msb_error_t *err);

/** @brief Options of the gzip middleware. @since 0.1 */
typedef struct msb_http_gzip_opts {
    size_t size;     /**< sizeof(msb_http_gzip_opts_t) */
    int level;       /**< zlib level 1-9; default 5 */
    size_t min_size; /**< smaller bodies are sent as they are; default 1024 */
} msb_http_gzip_opts_t;

/** @brief Initialiser with the defaults. @since 0.1 */
#define MSB_HTTP_GZIP_OPTS_INIT                                                                    \
    {                                                                                              \
        sizeof(msb_http_gzip_opts_t), 5, 1024                                                      \
    }

/**
 * @brief The gzip middleware: compresses textual responses (text/\*, JSON, XML, JavaScript,
 * SVG) of at least min_size bytes when Accept-Encoding allows gzip (q-values honoured; "*"
 * counts), adding `Content-Encoding: gzip` and `Vary: Accept-Encoding`. Streams, responses that
 * already have a Content-Encoding, and compression that would not shrink the body are left alone.
 * @return #MSB_OK, #MSB_EINVAL (level), #MSB_ENOMEM. Ownership: *out is new.
 * Thread-safety: any thread (one zlib stream per worker thread, reused).
 * @since 0.1
 */
MSB_API msb_status_t msb_http_mw_gzip_new(const msb_http_gzip_opts_t *opts, msb_http_mw_t **out,
                                          msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_HTTP_MIDDLEWARE_H */
