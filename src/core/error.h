/* Filling an msb_error_t: the one way every module reports the detail of a failure. */
#ifndef MSB_CORE_ERROR_H
#define MSB_CORE_ERROR_H

#include "core/common.h"

/*
 * Set *err (when err is not NULL) to code and the formatted message, and return code, so that a
 * failure reads `return msb__err(err, MSB_EINVAL, "http.listen: expected host:port");`.
 * An empty format falls back to msb_strerror(code).
 */
MSB_INTERNAL msb_status_t msb__err(msb_error_t *err, msb_status_t code, const char *fmt, ...)
    MSB_PRINTF(3, 4);

/* Prefix an existing message: "db: " + "connection refused". Returns err->code (or code). */
MSB_INTERNAL msb_status_t msb__err_prefix(msb_error_t *err, msb_status_t code, const char *fmt, ...)
    MSB_PRINTF(3, 4);

/* Shorthand for the out-of-memory case, naming what could not be allocated. */
#define msb__err_nomem(err, what) msb__err((err), MSB_ENOMEM, "out of memory allocating %s", (what))

#endif
