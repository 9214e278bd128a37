/*
 * The transport driver of the HTTP client: what src/client/ needs from an HTTP library. The
 * libcurl implementation lives in src/client/curl/ and is part of the libmsb-curl plugin, found
 * with msb__driver_get("client", "curl", ...) when the first client is made.
 *
 * The driver moves bytes; the core decides everything else. The core hands it one attempt at a
 * time (method, URL, finished header lines, body, timeouts, TLS, connection limits) and gets the
 * raw response header lines and body bytes through callbacks, then a result saying how the
 * attempt ended. Header parsing, size limits, retries, breakers, bulkheads, spans and error
 * messages live in the core, where they can be tested without a network.
 */
#ifndef MSB_CLIENT_DRIVER_H
#define MSB_CLIENT_DRIVER_H

#include "core/common.h"

struct event_base;

/* Bumped whenever the table changes shape; the core refuses a plugin with another value. */
#define MSB__CLIENT_DRIVER_ABI 1

/* How an attempt ended, as far as the transport can tell. */
typedef enum msb__xfer_fail {
    MSB__XFER_OK = 0,          /* a complete response arrived */
    MSB__XFER_DNS,             /* the host name could not be resolved */
    MSB__XFER_REFUSED,         /* connection refused / host or network unreachable */
    MSB__XFER_CONNECT_TIMEOUT, /* no connection (or TLS handshake) within the connect timeout */
    MSB__XFER_TIMEOUT,         /* the attempt's total timeout expired after connecting */
    MSB__XFER_TLS,             /* handshake failed, certificate rejected, pin mismatch */
    MSB__XFER_SEND,            /* failed sending the request */
    MSB__XFER_RECV,            /* connection reset or closed before a complete response */
    MSB__XFER_PROTO,           /* the server's response is not valid HTTP */
    MSB__XFER_ABORTED,         /* a core callback asked to stop (the core knows why) */
    MSB__XFER_TOOBIG,          /* the announced Content-Length exceeds max_response */
    MSB__XFER_REDIRECTS,       /* more redirects than max_redirects */
    MSB__XFER_NOMEM,           /* the library ran out of memory */
    MSB__XFER_BADURL,          /* the URL was refused (malformed, unsupported scheme) */
    MSB__XFER_OTHER            /* anything else (detail says what) */
} msb__xfer_fail_t;

/* TLS settings, strings borrowed for the attempt. */
typedef struct msb__client_tls {
    bool insecure;
    const char *ca_file;
    const char *ca_path;
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    const char *pinned_public_key;
} msb__client_tls_t;

/* Connection-pool limits of a loop (one multi handle) or of a blocking slot. */
typedef struct msb__client_pool {
    uint32_t max_connections;
    uint32_t max_host_connections;
    uint32_t max_idle;
    uint32_t idle_timeout_s; /* >= 1 */
    uint32_t max_age_s;      /* 0: none */
} msb__client_pool_t;

/* One attempt. Everything is borrowed until the attempt ends (done ran, or perform returned,
 * or the attempt was cancelled). */
typedef struct msb__client_xfer {
    const char *method;
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines, already validated */
    const void *body;           /* NULL: no body */
    size_t body_len;
    uint64_t connect_timeout_ms; /* >= 1 */
    uint64_t timeout_ms;         /* >= 1: the whole attempt */
    uint64_t max_response;       /* Content-Length above this fails early; 0: no limit */
    uint32_t max_redirects;      /* 0: redirects are not followed */
    const msb__client_tls_t *tls;
    /* Each raw header line as received (status lines included, CRLF included). Return 0 to go
     * on, non-zero to abort the attempt (MSB__XFER_ABORTED). */
    int (*on_header)(void *user, const char *line, size_t len);
    /* Body bytes. Same return convention. */
    int (*on_body)(void *user, const char *data, size_t len);
    /* Blocking path only: polled at least every poll_ms while the attempt runs; non-zero
     * aborts it (MSB__XFER_ABORTED). NULL: never polled. */
    int (*on_poll)(void *user);
    uint32_t poll_ms;
    void *user;
} msb__client_xfer_t;

typedef struct msb__client_result {
    msb__xfer_fail_t fail;
    long http_status; /* of the last response seen; 0 when none */
    bool sent;        /* the request may have reached the server */
    long connects;    /* new connections this attempt made (0: a pooled one was reused) */
    char detail[256]; /* the library's own words for a failure ("" on success) */
} msb__client_result_t;

typedef void (*msb__client_done_fn)(void *user, const msb__client_result_t *res);

typedef struct msb__client_driver {
    unsigned abi; /* MSB__CLIENT_DRIVER_ABI */
    /* Global initialisation of the library; idempotent and thread-safe. */
    msb_status_t (*global_init)(msb_error_t *err);
    /* "libcurl/7.88.1 OpenSSL/3.0.x ...", static. */
    const char *(*version)(void);

    /* ---- loop transports: one per event loop; used on that loop's thread only ---- */
    msb_status_t (*loop_new)(struct event_base *base, const msb__client_pool_t *pool, void **out,
                             msb_error_t *err);
    /* Every attempt must have ended or been cancelled. */
    void (*loop_free)(void *loop);
    /* Start an attempt; done(x->user, result) runs later on the loop (never from inside
     * loop_start). On an error nothing was started and done never runs. */
    msb_status_t (*loop_start)(void *loop, const msb__client_xfer_t *x, msb__client_done_fn done,
                               void **handle, msb_error_t *err);
    /* Abort an attempt that has not completed; done never runs for it. */
    void (*loop_cancel)(void *loop, void *handle);

    /* ---- blocking slots: a transfer handle with its own connection cache; one thread at a
     * time. The core keeps a pool of them. ---- */
    msb_status_t (*slot_new)(const msb__client_pool_t *pool, void *share, void **out,
                             msb_error_t *err);
    void (*slot_free)(void *slot);
    /* Run an attempt to its end. Returns MSB_OK with *res filled (even when the attempt
     * failed: see res->fail); MSB_ENOMEM when it could not start. */
    msb_status_t (*slot_perform)(void *slot, const msb__client_xfer_t *x, msb__client_result_t *res,
                                 msb_error_t *err);
    /* What the slots of one blocking client share across threads (DNS cache, TLS sessions). */
    msb_status_t (*share_new)(void **out, msb_error_t *err);
    void (*share_free)(void *share);
} msb__client_driver_t;

#endif
