/*
 * The HTTP driver of the OTLP exporter: what src/trace/otlp.c needs from an HTTP client. The
 * libcurl implementation lives in src/trace/curl/ and is part of the libmsb-curl plugin, loaded
 * with msb__driver_get("trace", "curl", ...) when an OTLP exporter is created.
 */
#ifndef MSB_TRACE_DRIVER_H
#define MSB_TRACE_DRIVER_H

#include <stdatomic.h>

#include "core/common.h"

/* Bumped whenever the table changes shape; the core refuses a plugin with another value. */
#define MSB__TRACE_DRIVER_ABI 1

typedef struct msb__trace_http_result {
    long status;            /* HTTP status; 0 when no response arrived */
    int64_t retry_after_ms; /* Retry-After as milliseconds from now; -1 when absent */
    char excerpt[160];      /* start of the response body, for error messages ("" if none) */
} msb__trace_http_result_t;

typedef struct msb__trace_http_driver {
    unsigned abi; /* MSB__TRACE_DRIVER_ABI */
    /* A client (connection cache); used by one thread at a time. */
    msb_status_t (*client_new)(void **out, msb_error_t *err);
    void (*client_free)(void *client);
    /*
     * POST body to url with the NULL-terminated "Name: value" headers, within timeout_ms, giving
     * up early when the monotonic clock (msb_clock_monotonic_ns(NULL)) reaches *cancel_at.
     * Returns MSB_OK when a response arrived (whatever its status; see res), MSB_EUNAVAIL when the
     * server could not be reached, MSB_ETIMEDOUT, MSB_ECANCELED, MSB_ENOMEM.
     */
    msb_status_t (*post)(void *client, const char *url, const char *const *headers,
                         const void *body, size_t len, uint64_t timeout_ms,
                         const _Atomic uint64_t *cancel_at, msb__trace_http_result_t *res,
                         msb_error_t *err);
} msb__trace_http_driver_t;

#endif
