/**
 * @file client.h
 * @brief Outbound HTTP on libcurl: an event-loop client (libcurl's multi interface driven by
 * libevent) and a blocking client, with per-upstream policies — timeouts, deadline
 * propagation, retries with a budget, a circuit breaker, a bulkhead, trace context
 * injection and a response size limit.
 *
 * **Two kinds of client.** A client made with an `event_base` (#msb_client_opts_t::base) runs
 * every transfer on that loop: msb_client_send() starts a request and returns at once, and the
 * completion callback runs later on the loop's thread. Many requests run concurrently on one
 * loop, over one connection pool. A client made without a loop serves msb_client_do(), which
 * blocks the calling thread; it is safe from any number of threads at once.
 *
 * **Upstreams.** A service declares each dependency once as an #msb_client_upstream_t: base
 * URL, default headers, timeouts, retry policy and budget, circuit breaker, bulkhead, TLS
 * settings and the classifier that says which outcomes are failures and which are worth a
 * retry. An upstream is safe from any thread and may be shared by every client of the process
 * (one loop client per worker thread, say). Requests name it in #msb_client_req_t::upstream and
 * give a path relative to its base URL.
 *
 * @code
 * msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
 * uo.name = "users";
 * uo.base_url = "http://users.internal:8080/v1";
 * msb_client_upstream_t *users;
 * msb_client_upstream_new(&uo, &users, &err);
 *
 * msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
 * co.base = base;                                   // an event_base: the loop client
 * msb_client_t *client;
 * msb_client_new(&co, &client, &err);
 *
 * msb_client_req_t req = MSB_CLIENT_REQ_INIT;
 * req.upstream = users;
 * req.url = "/users/42";
 * req.deadline_ns = incoming_deadline_ns;           // the caller's deadline, if any
 * msb_client_send(client, &req, on_user, ctx, NULL, &err);
 *
 * static void on_user(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
 *                     void *ctx)
 * {
 *     if (st != MSB_OK) { log_failure(err->message); return; }
 *     size_t len;
 *     const char *body = msb_client_response_body(resp, &len);
 *     ...
 *     msb_client_response_free(resp);
 * }
 * @endcode
 *
 * **What a call does.** For each attempt: wait for a place in the bulkhead (bounded), ask the
 * breaker for a permit, start a client span, send the request with `traceparent` and the
 * deadline header, and classify the outcome (the breaker records it). A retryable outcome is
 * retried after the jittered backoff (or the server's `Retry-After` on 429/503) if the retry
 * policy, its budget and the remaining deadline allow it. Only idempotent methods are retried
 * after the request may have reached the server, unless the request is marked idempotent or
 * carries an `Idempotency-Key`; a request that never left (DNS failure, connection refused) is
 * always safe to retry. See docs/client.md for the guide.
 *
 * **Results.** A call succeeds (#MSB_OK) when a response arrived, whatever its HTTP status: the
 * status is the application's business (a 404 is an answer). Transport failures, timeouts,
 * rejections and limits are errors, and the #msb_error_t names the request ("GET
 * http://users.internal:8080/v1/users/42") — without credentials or query values — and what
 * happened: "could not resolve host", "connection refused", "timed out after 250 ms",
 * "breaker \"users\" is open", "retry budget exhausted", "response larger than 8388608 bytes".
 *
 * **libcurl's global state.** curl_global_init() runs once, under a `pthread_once`, the first
 * time a client is made (or at msb_client_global_init()). libcurl counts its global
 * initialisations, so a host program that also uses libcurl may call curl_global_init() and
 * curl_global_cleanup() itself as usual; libmsb never calls curl_global_cleanup() (the plugin
 * stays loaded until the process exits). With a libcurl older than 7.84, or one built without
 * the `threadsafe` feature, curl_global_init() is not thread-safe: call msb_client_global_init()
 * from `main` before starting threads.
 */
#ifndef MSB_CLIENT_H
#define MSB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/client_upstream.h"
#include "msb/clock.h"
#include "msb/config.h"
#include "msb/error.h"
#include "msb/retry.h"
#include "msb/trace.h"

MSB_BEGIN_DECLS

struct event_base;

/* ------------------------------------------------------------------------------------------ */
/* Types                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** @brief An HTTP client: bound to one event loop, or blocking (opaque). @since 0.1 */
typedef struct msb_client msb_client_t;
/** @brief A response: status, headers and body (opaque). @since 0.1 */
typedef struct msb_client_response msb_client_response_t;
/** @brief A request in flight on a loop client, for msb_client_call_cancel() (opaque).
 * @since 0.1 */
typedef struct msb_client_call msb_client_call_t;

/** Default name of the header that carries the remaining time to the upstream. @since 0.1 */
#define MSB_CLIENT_DEADLINE_HEADER "X-Request-Timeout-Ms"

/* ------------------------------------------------------------------------------------------ */
/* Clients                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** @brief Client options. Initialise with #MSB_CLIENT_OPTS_INIT. @since 0.1 */
typedef struct msb_client_opts {
    size_t size;                    /**< sizeof(msb_client_opts_t), set by the initialiser */
    struct event_base *base;        /**< the loop that runs every transfer (msb_client_send());
                                         NULL: a blocking client (msb_client_do()) */
    const msb_clock_t *clock;       /**< the clock of deadlines (#msb_client_req_t::deadline_ns).
                                         NULL: msb_clock_real() */
    msb_tracer_t *tracer;           /**< tracer of the client spans; NULL: the global provider's
                                         tracer of scope "msb.client" (a no-op when none is set) */
    unsigned trace_formats;         /**< propagation formats injected, #msb_trace_format_t bits.
                                         Default #MSB_TRACE_W3C; 0: none */
    uint32_t max_connections;       /**< open connections in all, 1..100000. Default 256. A blocking
                                         client runs at most this many calls at once */
    uint32_t max_host_connections;  /**< open connections per host:port, 1..100000. Default 64 */
    uint32_t max_idle_connections;  /**< idle connections kept for reuse (loop client), 1..100000.
                                         Default 64 */
    uint64_t idle_timeout_ns;       /**< an idle connection older than this is closed instead of
                                         reused, >= 1 s. Default 60 s */
    uint64_t max_connection_age_ns; /**< a connection is not reused past this age; 0 (the
                                         default): no limit. >= 1 s otherwise */
    const char *deadline_header;    /**< header carrying the remaining time in milliseconds;
                                         NULL: #MSB_CLIENT_DEADLINE_HEADER; "": never sent */
    const char *user_agent;         /**< User-Agent of requests that set none; NULL: "libmsb/<ver>";
                                         "": none */
    const msb_client_upstream_t *defaults; /**< policy of requests without an upstream, borrowed
                                                (must outlive the client); NULL: one made with
                                                #MSB_CLIENT_UPSTREAM_OPTS_INIT but `no_breaker`
                                                (a breaker belongs to one host) */
} msb_client_opts_t;

/** @brief Defaults of #msb_client_opts_t. @since 0.1 */
#define MSB_CLIENT_OPTS_INIT                                                                       \
    {                                                                                              \
        .size = sizeof(msb_client_opts_t), .base = NULL, .clock = NULL, .tracer = NULL,            \
        .trace_formats = MSB_TRACE_W3C, .max_connections = 256, .max_host_connections = 64,        \
        .max_idle_connections = 64, .idle_timeout_ns = 60 * MSB_SEC, .max_connection_age_ns = 0,   \
        .deadline_header = NULL, .user_agent = NULL, .defaults = NULL                              \
    }

/**
 * @brief Run libcurl's global initialisation now (it otherwise runs at the first
 * msb_client_new()). Loads the `libmsb-curl` plugin.
 *
 * Only needed with a libcurl whose curl_global_init() is not thread-safe (older than 7.84 or
 * built without `threadsafe`): call it from `main` before other threads start. Repeated calls
 * do nothing.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_ENOTSUP (built without libcurl); #MSB_EUNAVAIL (the plugin could not be
 * loaded); #MSB_EINTERNAL (curl_global_init() failed).
 * Thread-safety: safe from any thread (once-only).
 * @since 0.1
 */
MSB_API msb_status_t msb_client_global_init(msb_error_t *err);

/**
 * @brief Create a client.
 * @param opts options (NULL: a blocking client with the defaults).
 * @param out receives the client.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EINVAL naming the option; #MSB_ENOMEM; #MSB_ENOTSUP / #MSB_EUNAVAIL when
 * the curl plugin is missing; #MSB_EINTERNAL when libcurl could not be initialised.
 * Ownership: *out is new, free it with msb_client_free(); `base`, `clock`, `tracer` and
 * `defaults` are borrowed and must outlive the client.
 * Thread-safety: a loop client is used only on its loop's thread (create it there or before the
 * loop runs); a blocking client is safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_client_new(const msb_client_opts_t *opts, msb_client_t **out,
                                    msb_error_t *err);

/**
 * @brief Free a client. NULL is a no-op.
 *
 * A loop client first cancels every call in flight: each completion callback runs with
 * #MSB_ECANCELED before this returns.
 * Thread-safety: a loop client on its loop's thread, not from inside one of its own callbacks;
 * a blocking client once no thread is inside msb_client_do().
 * @since 0.1
 */
MSB_API void msb_client_free(msb_client_t *c);

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Receives the body of a response piece by piece, instead of it being kept in the
 * response (optional, #msb_client_req_t::on_body).
 *
 * Called only for the response that ends the call — never for one that is about to be retried —
 * so the body arrives exactly once. The first call comes after the status and headers are
 * known.
 * @param head the response so far: status and headers (its body stays empty). Borrowed for the
 * call.
 * @param data the next bytes. @param len their number (> 0).
 * @param user the request's `body_user`.
 * @return 0 to go on; anything else aborts the call with #MSB_ECANCELED.
 * Runs on the loop's thread (loop client) or the caller's (blocking client).
 * @since 0.1
 */
typedef int (*msb_client_body_fn)(const msb_client_response_t *head, const void *data, size_t len,
                                  void *user);

/**
 * @brief One request. Initialise with #MSB_CLIENT_REQ_INIT, then set the fields you need.
 *
 * Everything is read during msb_client_send() / msb_client_do(): a loop client copies the
 * strings, headers and body, so the request may live on the stack.
 * @since 0.1
 */
typedef struct msb_client_req {
    size_t size;                     /**< sizeof(msb_client_req_t), set by the initialiser */
    msb_client_upstream_t *upstream; /**< the dependency; NULL: the client's `defaults` */
    const char *method;              /**< an HTTP token ("GET", "POST", …); NULL: "GET" */
    const char *url;                 /**< a path ("/users/42?x=1") appended to the upstream's base
                                          URL, or an absolute http/https URL */
    const char *const *headers;      /**< NULL-terminated "Name: value" lines; NULL: none */
    const void *body;                /**< request body (`body_len` bytes); NULL: none */
    size_t body_len;                 /**< its length */
    uint64_t deadline_ns;            /**< absolute deadline on the client's clock
                                          (msb_clock_monotonic_ns()); 0: none */
    uint64_t timeout_ns;             /**< bound on the whole call from now (the sooner of this and
                                          `deadline_ns` applies); 0: the upstream's
                                          `call_timeout_ns` */
    uint64_t attempt_timeout_ns;     /**< bound on each attempt; 0: the upstream's `timeout_ns` */
    bool idempotent;                 /**< safe to retry although the method is not idempotent
                                          (an `Idempotency-Key` header implies it) */
    bool no_retry;                   /**< one attempt only */
    const msb_trace_ctx_t *trace_parent; /**< parent of the client spans; NULL: the calling
                                              thread's current span at the time of the call */
    msb_client_body_fn on_body;  /**< stream the response body; NULL: keep it in the response */
    void *body_user;             /**< passed to `on_body` */
    msb_retry_cancel_t *cancel;  /**< blocking client: a token that cancels the call from
                                      another thread (checked every 20 ms); NULL: none */
    uint64_t max_response_bytes; /**< 0: the upstream's limit; else this limit */
} msb_client_req_t;

/** @brief Defaults of #msb_client_req_t. @since 0.1 */
#define MSB_CLIENT_REQ_INIT                                                                        \
    {                                                                                              \
        .size = sizeof(msb_client_req_t), .upstream = NULL, .method = NULL, .url = NULL,           \
        .headers = NULL, .body = NULL, .body_len = 0, .deadline_ns = 0, .timeout_ns = 0,           \
        .attempt_timeout_ns = 0, .idempotent = false, .no_retry = false, .trace_parent = NULL,     \
        .on_body = NULL, .body_user = NULL, .cancel = NULL, .max_response_bytes = 0                \
    }

/**
 * @brief Completion of a request on a loop client.
 * @param status #MSB_OK when a response arrived (whatever its HTTP status); otherwise why the
 * call failed (#MSB_ETIMEDOUT, #MSB_EUNAVAIL, #MSB_EREJECTED, #MSB_ETOOBIG, #MSB_EPROTO,
 * #MSB_ECANCELED, #MSB_ENOMEM).
 * @param resp the response when status is #MSB_OK, else NULL. Ownership: new, the callback owns
 * it: free it with msb_client_response_free() (now or later, on any thread).
 * @param err the detail when status is not #MSB_OK (borrowed for the call), else NULL.
 * @param user the `user` of msb_client_send().
 * Runs on the loop's thread, never from inside msb_client_send().
 * @since 0.1
 */
typedef void (*msb_client_done_fn)(msb_status_t status, msb_client_response_t *resp,
                                   const msb_error_t *err, void *user);

/**
 * @brief Start a request on a loop client; `done` runs once on the loop when it ends.
 *
 * @param c a loop client.
 * @param req the request (read during the call only).
 * @param done the completion callback. @param user passed to it.
 * @param call optional: receives a handle for msb_client_call_cancel(), valid until `done`
 * starts.
 * @param err optional detail.
 * @return #MSB_OK (`done` will run); #MSB_EINVAL (a blocking client, a bad method, URL or
 * header line, naming it); #MSB_ENOMEM. On an error `done` never runs.
 * Ownership: nothing of `req` is kept; the handle in *call is borrowed.
 * Thread-safety: on the client's loop thread only (also from inside callbacks).
 * @since 0.1
 */
MSB_API msb_status_t msb_client_send(msb_client_t *c, const msb_client_req_t *req,
                                     msb_client_done_fn done, void *user, msb_client_call_t **call,
                                     msb_error_t *err);

/**
 * @brief Cancel a request in flight: its transfer is aborted (the connection closed), timers
 * stopped, and its `done` runs with #MSB_ECANCELED before this returns. The breaker counts
 * nothing for it.
 * @param call a handle from msb_client_send() whose `done` has not started; NULL is a no-op.
 * Thread-safety: on the client's loop thread only.
 * @since 0.1
 */
MSB_API void msb_client_call_cancel(msb_client_call_t *call);

/**
 * @brief Make a request on a blocking client and wait for its end.
 *
 * @param c a blocking client.
 * @param req the request.
 * @param resp receives the response when the result is #MSB_OK.
 * @param err optional detail.
 * @return #MSB_OK when a response arrived (whatever its HTTP status); the reasons listed at
 * #msb_client_done_fn otherwise; #MSB_EINVAL for a loop client or a bad request.
 * Ownership: *resp is new, free it with msb_client_response_free().
 * Thread-safety: safe from any thread, concurrently; blocks the calling thread (never call it
 * on an event loop's thread).
 * @since 0.1
 */
MSB_API msb_status_t msb_client_do(msb_client_t *c, const msb_client_req_t *req,
                                   msb_client_response_t **resp, msb_error_t *err);

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief The response's HTTP status code (100..999).
 * Thread-safety: a response is used by one thread at a time.
 * @since 0.1
 */
MSB_API int msb_client_response_status(const msb_client_response_t *r);

/**
 * @brief The response body (empty when it was streamed to `on_body`).
 * @param r the response. @param len receives its length (may be NULL).
 * @return the bytes, NUL-terminated for convenience (never NULL). Ownership: borrowed, valid
 * until msb_client_response_free().
 * @since 0.1
 */
MSB_API const char *msb_client_response_body(const msb_client_response_t *r, size_t *len);

/**
 * @brief The `index`-th header field named `name` (case-insensitive), in arrival order.
 * @return its value without surrounding whitespace, NUL-terminated, or NULL when absent.
 * Ownership: borrowed, valid until msb_client_response_free().
 * @since 0.1
 */
MSB_API const char *msb_client_response_header(const msb_client_response_t *r, const char *name,
                                               size_t index);

/**
 * @brief Number of header fields.
 * @since 0.1
 */
MSB_API size_t msb_client_response_header_count(const msb_client_response_t *r);

/**
 * @brief The `i`-th header field.
 * @param r the response. @param i from 0 to msb_client_response_header_count() - 1.
 * @param name receives the field name. @param value receives its value.
 * @return #MSB_OK or #MSB_ERANGE. Ownership: borrowed, valid until msb_client_response_free().
 * @since 0.1
 */
MSB_API msb_status_t msb_client_response_header_at(const msb_client_response_t *r, size_t i,
                                                   const char **name, const char **value);

/**
 * @brief Number of attempts the call made (1 when it was not retried).
 * @since 0.1
 */
MSB_API uint32_t msb_client_response_attempts(const msb_client_response_t *r);

/**
 * @brief Free a response. NULL is a no-op.
 * Thread-safety: any thread, once.
 * @since 0.1
 */
MSB_API void msb_client_response_free(msb_client_response_t *r);

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                              */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief The client's configuration keys (`client.*`, see docs/configuration.md), to add with
 * msb_config_add_keys() before loading.
 * @param count receives the number of keys. @param elem_size receives the element size.
 * @return the static table. Ownership: borrowed, valid for the process' life.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const msb_config_key_t *msb_client_config_keys(size_t *count, size_t *elem_size);

/**
 * @brief Apply the loaded `client.*` keys to client, upstream and retry options.
 *
 * Sets the connection-pool fields and `deadline_header` of `copts`; the timeouts, response
 * limit and redirects of `uopts`; the attempts and backoff of `ropts` (pass it as
 * `uopts->retry`). Any of the three may be NULL. Only keys that a layer above the defaults sets
 * (file, environment, command line) change a field, so values set in code stay unless the
 * operator overrides them.
 * @param cfg a loaded configuration whose schema includes msb_client_config_keys().
 * @param copts client options to fill, or NULL. @param uopts upstream options, or NULL.
 * @param ropts retry options, or NULL. @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (cfg is NULL), or the configuration's error reading a key.
 * Ownership: `copts->deadline_header` may then point into `cfg` (valid until
 * msb_config_free()). Thread-safety: as the configuration's getters.
 * @since 0.1
 */
MSB_API msb_status_t msb_client_config_apply(const msb_config_t *cfg, msb_client_opts_t *copts,
                                             msb_client_upstream_opts_t *uopts,
                                             msb_retry_opts_t *ropts, msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_CLIENT_H */
