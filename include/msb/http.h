/**
 * @file http.h
 * @brief HTTP/1.1 server: worker event loops, routes, route groups, graceful stop, TLS.
 *
 * A server owns one libevent loop per worker thread; each connection, its requests and every
 * callback about them run on the loop that accepted it (see docs/http.md, "Threads"). Handlers
 * run on that loop thread and must not block: blocking work goes to a worker pool and the handler
 * answers later with msb_http_defer() and a respond function, from the same loop (post back with
 * msb_http_loop_post()). Worker threads block SIGPIPE in themselves (a write to a peer that left
 * fails with EPIPE instead of killing the process); the process' signal handling is untouched.
 *
 * @code
 * static msb_status_t hello(msb_http_req_t *req, void *user)
 * {
 *     return msb_http_respond(req, 200, "application/json", "{\"message\":\"hello\"}", 19);
 * }
 *
 * msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
 * o.listen = "127.0.0.1:8080";
 * msb_http_server_t *srv;
 * msb_http_server_new(&o, &srv, &err);
 * msb_http_route(msb_http_server_root(srv), "GET", "/", hello, NULL, &err);
 * msb_http_server_start(srv, &err);
 * ...
 * msb_http_server_stop(srv, 10000, &err);   // drain in-flight requests for up to 10 s
 * msb_http_server_free(srv);
 * @endcode
 *
 * The request API is in http_request.h, responses in http_response.h, middleware in
 * http_middleware.h and JSON helpers in http_json.h; this header includes them all.
 */
#ifndef MSB_HTTP_H
#define MSB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

struct event_base;

/** @brief An HTTP server. @since 0.1 */
typedef struct msb_http_server msb_http_server_t;
/** @brief A route group: a path prefix with its own middleware and limits. @since 0.1 */
typedef struct msb_http_group msb_http_group_t;
/** @brief One request and its response. @since 0.1 */
typedef struct msb_http_req msb_http_req_t;
/** @brief One worker's event loop. @since 0.1 */
typedef struct msb_http_loop msb_http_loop_t;
/** @brief A middleware (http_middleware.h). @since 0.1 */
typedef struct msb_http_mw msb_http_mw_t;

/**
 * @brief A request handler.
 *
 * Runs on the loop thread of the request's connection, after the middleware and after the whole
 * body has been read. It answers with one of the respond functions of http_response.h, or calls
 * msb_http_defer() and answers later from the same loop. A handler that returns a status other
 * than #MSB_OK without having answered gets an `application/problem+json` response mapped from
 * the status (#MSB_EINVAL 400, #MSB_EAUTH 401, #MSB_EPERM 403, #MSB_ENOTFOUND 404,
 * #MSB_ECONFLICT and #MSB_EEXIST 409, #MSB_ETOOBIG 413, #MSB_EREJECTED 429, #MSB_EUNAVAIL 503,
 * #MSB_ETIMEDOUT 504, anything else 500); one that returns #MSB_OK without answering or
 * deferring gets a 500.
 *
 * @param req the request; borrowed, valid until the response is finished.
 * @param user the pointer given to msb_http_route().
 * @since 0.1
 */
typedef msb_status_t (*msb_http_handler_fn)(msb_http_req_t *req, void *user);

/** @brief How worker threads get connections (docs/http.md, "Listeners"). @since 0.1 */
typedef enum msb_http_listen_mode {
    /** One listening socket per worker with `SO_REUSEPORT`; the kernel spreads connections. */
    MSB_HTTP_LISTEN_REUSEPORT = 0,
    /** One listening socket on worker 0, which hands accepted connections out round-robin. */
    MSB_HTTP_LISTEN_HANDOFF = 1
} msb_http_listen_mode_t;

/**
 * @brief Server options. Initialise with #MSB_HTTP_SERVER_OPTS_INIT, then change fields.
 *
 * Limits and timeouts apply to every connection; route groups may lower or raise the body limit
 * and the handler timeout (msb_http_group_opts_t). A timeout of 0 disables that timeout.
 * @since 0.1
 */
typedef struct msb_http_server_opts {
    size_t size;        /**< sizeof(msb_http_server_opts_t), set by the initialiser */
    const char *listen; /**< "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks
                             a free port (see msb_http_server_port()). Default "127.0.0.1:8080" */
    int workers;        /**< worker threads, each with its own loop; 0: one per CPU. Default 1 */
    msb_http_listen_mode_t listen_mode; /**< default #MSB_HTTP_LISTEN_REUSEPORT */
    int backlog;                        /**< listen(2) backlog; default 511 */
    uint32_t max_connections;    /**< open connections before accepting pauses; default 10000 */
    uint32_t max_request_line;   /**< bytes of the request line; over: 414. Default 8192 */
    uint32_t max_header_bytes;   /**< bytes of the header section; over: 431. Default 16384 */
    uint32_t max_headers;        /**< header fields; over: 431. Default 100 */
    uint64_t max_body_bytes;     /**< request content (decoded); over: 413. Default 1 MiB */
    uint32_t header_timeout_ms;  /**< from a request's first byte to its last header; 408.
                                      Also bounds the TLS handshake. Default 10000 */
    uint32_t body_timeout_ms;    /**< to read a whole body once the head is in; 408. Default
                                      30000 */
    uint32_t write_timeout_ms;   /**< longest wait for the peer to accept more response bytes;
                                      the connection is closed. Default 30000 */
    uint32_t idle_timeout_ms;    /**< keep-alive connection without a request. Default 60000 */
    uint32_t handler_timeout_ms; /**< deadline of a deferred handler, answered with
                                      `timeout_status`. Default 30000 */
    int timeout_status;          /**< 503 or 504 for a handler past its deadline; default 503 */
    const char *tls_cert_file;   /**< PEM certificate chain; with tls_key_file turns TLS on */
    const char *tls_key_file;    /**< PEM private key */
    bool default_middleware;     /**< install the request-id middleware on the root group;
                                      default true */
    /** Adopt already listening sockets (a binary upgrade): one per worker in
        #MSB_HTTP_LISTEN_REUSEPORT mode, or one. `listen` is then ignored. Default none. */
    const int *listen_fds;
    size_t listen_fd_count; /**< entries in listen_fds */
    /** Called on each worker thread before its loop runs (set up per-loop clients). */
    void (*on_worker_start)(msb_http_loop_t *loop, void *user);
    /** Called on each worker thread after its loop stopped. */
    void (*on_worker_stop)(msb_http_loop_t *loop, void *user);
    void *worker_user; /**< passed to on_worker_start and on_worker_stop */
} msb_http_server_opts_t;

/** @brief Initialiser of #msb_http_server_opts_t with every default. @since 0.1 */
#define MSB_HTTP_SERVER_OPTS_INIT                                                                  \
    {                                                                                              \
        sizeof(msb_http_server_opts_t), "127.0.0.1:8080", 1, MSB_HTTP_LISTEN_REUSEPORT, 511,       \
            10000, 8192, 16384, 100, 1048576, 10000, 30000, 30000, 60000, 30000, 503, NULL, NULL,  \
            true, NULL, 0, NULL, NULL, NULL                                                        \
    }

/**
 * @brief Create a server (not yet listening).
 *
 * Loads the TLS certificate when configured. Add routes, then call msb_http_server_start().
 * @param opts options; NULL for the defaults.
 * @param out receives the server.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (an option, naming it), #MSB_EIO (TLS files), #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_http_server_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_server_new(const msb_http_server_opts_t *opts,
                                         msb_http_server_t **out, msb_error_t *err);

/**
 * @brief Stop the server at once if it runs (no drain) and free it, its groups and routes.
 *
 * Middleware references held by the groups are released. NULL is a no-op.
 * Thread-safety: not from a worker thread of this server; no other call on it may run.
 * @since 0.1
 */
MSB_API void msb_http_server_free(msb_http_server_t *srv);

/**
 * @brief The root group (prefix "") of a server.
 * @return the group; borrowed, valid until msb_http_server_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_http_group_t *msb_http_server_root(msb_http_server_t *srv);

/**
 * @brief Options of a route group. Initialise with #MSB_HTTP_GROUP_OPTS_INIT.
 *
 * A field left at 0 inherits the parent group's value (the server's, for the root).
 * @since 0.1
 */
typedef struct msb_http_group_opts {
    size_t size;                 /**< sizeof(msb_http_group_opts_t) */
    uint64_t max_body_bytes;     /**< request content limit for this group's routes; 413 */
    uint32_t handler_timeout_ms; /**< deadline of this group's deferred handlers */
    int timeout_status;          /**< 503 or 504 */
    uint32_t json_max_depth;     /**< nesting limit of msb_http_req_json(); default 64 */
} msb_http_group_opts_t;

/** @brief Initialiser of #msb_http_group_opts_t: everything inherited. @since 0.1 */
#define MSB_HTTP_GROUP_OPTS_INIT                                                                   \
    {                                                                                              \
        sizeof(msb_http_group_opts_t), 0, 0, 0, 0                                                  \
    }

/**
 * @brief Create a group under `parent` for the path prefix `prefix` ("/v1").
 *
 * The group's routes get the parent's middleware followed by its own, and its limits.
 * @param parent a group of the server (msb_http_server_root() for a top-level group).
 * @param prefix "/"-led literal path ("/v1", "/api/v2"); no parameters, no trailing '/'.
 * @param opts group options; NULL inherits everything.
 * @param out receives the group.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (prefix or options), #MSB_EBUSY (the server was started),
 * #MSB_ENOMEM.
 * Ownership: *out is borrowed, owned by the server. Thread-safety: one thread at a time, before
 * msb_http_server_start().
 * @since 0.1
 */
MSB_API msb_status_t msb_http_group_new(msb_http_group_t *parent, const char *prefix,
                                        const msb_http_group_opts_t *opts, msb_http_group_t **out,
                                        msb_error_t *err);

/**
 * @brief Append a middleware to a group's chain (after the parent's and the earlier ones).
 *
 * @param group the group.
 * @param mw the middleware; the group takes a reference of its own, so the caller still releases
 * its reference with msb_http_mw_free() (one middleware may serve several groups).
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (NULL), #MSB_EBUSY (already started), #MSB_ELIMIT (more than 32
 * middleware in a chain), #MSB_ENOMEM.
 * Thread-safety: one thread at a time, before msb_http_server_start().
 * @since 0.1
 */
MSB_API msb_status_t msb_http_group_use(msb_http_group_t *group, msb_http_mw_t *mw,
                                        msb_error_t *err);

/**
 * @brief Add a route: `method` and `pattern` (appended to the group's prefix) to a handler.
 *
 * Patterns: literal segments, parameters `{name}` (one non-empty segment, percent-decoded) and a
 * last wildcard `{name...}` (the rest of the path). Precedence is literal > parameter >
 * wildcard at each segment, whatever the order of registration. HEAD is answered by the GET
 * route (body suppressed) unless a HEAD route exists; OPTIONS is answered with `Allow` unless an
 * OPTIONS route exists. See docs/http.md, "Router".
 *
 * @param group the group.
 * @param method a method token ("GET", "POST", "PURGE", …); CONNECT is not routable.
 * @param pattern "/users/{id}".
 * @param handler the handler.
 * @param user passed to the handler.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (pattern or method, naming the problem), #MSB_EEXIST (the same
 * method and pattern shape again), #MSB_ENOTSUP (CONNECT), #MSB_EBUSY (already started),
 * #MSB_ELIMIT (over 32 methods), #MSB_ENOMEM.
 * Thread-safety: one thread at a time, before msb_http_server_start().
 * @since 0.1
 */
MSB_API msb_status_t msb_http_route(msb_http_group_t *group, const char *method,
                                    const char *pattern, msb_http_handler_fn handler, void *user,
                                    msb_error_t *err);

/**
 * @brief Bind the listening sockets, start the worker threads and begin accepting.
 *
 * Returns once every worker is accepting. Routes and middleware can no longer change.
 * @return #MSB_OK, #MSB_EBUSY (already started), #MSB_EIO (bind/listen, naming the address),
 * #MSB_EINVAL (the listen address), #MSB_ENOMEM.
 * Thread-safety: one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_server_start(msb_http_server_t *srv, msb_error_t *err);

/**
 * @brief The port the server listens on (the chosen one when the address asked for port 0).
 * @return the port, or 0 before msb_http_server_start(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API uint16_t msb_http_server_port(const msb_http_server_t *srv);

/**
 * @brief The listening sockets (to hand to a new process in a binary upgrade).
 *
 * @param srv the server.
 * @param fds receives up to `max` descriptors (still owned by the server).
 * @param max room in fds.
 * @return the number of listening sockets (may exceed max). Thread-safety: any thread, while
 * the server runs.
 * @since 0.1
 */
MSB_API size_t msb_http_server_listen_fds(const msb_http_server_t *srv, int *fds, size_t max);

/**
 * @brief Graceful stop: stop accepting, close idle connections, let in-flight requests finish
 * (their responses carry `Connection: close`), and stop the workers.
 *
 * Blocks until every connection is closed or `timeout_ms` passed; at the deadline the remaining
 * connections are closed (deferred handlers get their abort callback) and #MSB_ETIMEDOUT is
 * returned. The listening sockets are closed unless adopted ones are kept for a new process. A
 * stopped server can be freed, not restarted.
 * @param srv the server.
 * @param timeout_ms the drain deadline; 0 closes everything at once.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_ETIMEDOUT (forced), #MSB_EINVAL (not started).
 * Thread-safety: any thread except the server's worker threads; one call at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_server_stop(msb_http_server_t *srv, uint32_t timeout_ms,
                                          msb_error_t *err);

/**
 * @brief Reload the TLS certificate and key from the configured files (on SIGHUP).
 *
 * New connections use the new pair; open ones keep theirs. On failure the old pair stays.
 * @return #MSB_OK, #MSB_EINVAL (TLS not configured), #MSB_EIO (the files, with OpenSSL's
 * reason). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_server_tls_reload(msb_http_server_t *srv, msb_error_t *err);

/** @brief Counters of a running server. @since 0.1 */
typedef struct msb_http_server_stats {
    uint64_t connections;       /**< open connections */
    uint64_t requests_inflight; /**< requests dispatched and not yet answered */
    uint64_t requests_total;    /**< requests dispatched since start */
} msb_http_server_stats_t;

/**
 * @brief Read the server's counters (summed over workers, each read atomically).
 * Thread-safety: any thread.
 * @since 0.1
 */
MSB_API void msb_http_server_stats(const msb_http_server_t *srv, msb_http_server_stats_t *out);

/** @brief A function run on a loop's thread by msb_http_loop_post(). @since 0.1 */
typedef void (*msb_http_loop_fn)(msb_http_loop_t *loop, void *user);

/**
 * @brief Run `fn(loop, user)` on the loop's thread, soon.
 *
 * The way other threads (a worker pool) hand results back to a loop. Functions posted to one loop
 * run in the order posted. Posts made while the loop drains still run (at the latest as it
 * exits); posts made after msb_http_server_stop() returned are never run.
 * @return #MSB_OK or #MSB_ENOMEM (fn is then never called).
 * Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_loop_post(msb_http_loop_t *loop, msb_http_loop_fn fn, void *user);

/**
 * @brief The libevent base of a loop, for timers and clients driven by the loop.
 * @return borrowed; use only on the loop's thread. Thread-safety: any thread may read it.
 * @since 0.1
 */
MSB_API struct event_base *msb_http_loop_base(msb_http_loop_t *loop);

/**
 * @brief The index of a loop's worker, 0 … workers-1.
 * Thread-safety: any thread.
 * @since 0.1
 */
MSB_API int msb_http_loop_index(const msb_http_loop_t *loop);

MSB_END_DECLS

#include "msb/http_request.h"
#include "msb/http_response.h"
#include "msb/http_middleware.h"
#include "msb/http_json.h"

#endif /* MSB_HTTP_H */
