/**
 * @file error.h
 * @brief The one status type of libmsb and the one way to get an error's detail.
 *
 * Every function that can fail returns an #msb_status_t (#MSB_OK is 0). Functions whose failure
 * has a detail worth reading (which key, which field, which URL, what a server said) take an
 * optional caller-owned #msb_error_t as their **last** argument, after the output parameters.
 * Passing NULL is always allowed; passing an #msb_error_t fills it on failure and leaves it
 * untouched on success. The struct lives wherever the caller likes (usually the stack), so the
 * mechanism works for constructors (no handle exists yet), from any thread, and with no hidden
 * state.
 *
 * @code
 * msb_error_t err;
 * if (msb_config_load(cfg, argc, argv, &err) != MSB_OK) {
 *     fprintf(stderr, "config: %s\n", err.message);
 * }
 * @endcode
 *
 * Asynchronous operations hand their status and a borrowed #msb_error_t to their callback.
 */
#ifndef MSB_ERROR_H
#define MSB_ERROR_H

#include "msb/export.h"

MSB_BEGIN_DECLS

/**
 * @brief Status codes. Values are explicit and only ever appended; a number is never reused.
 * @since 0.1
 */
typedef enum msb_status {
    MSB_OK = 0,         /**< success */
    MSB_EINVAL = 1,     /**< an argument, option or input is invalid */
    MSB_ENOMEM = 2,     /**< out of memory */
    MSB_ETIMEDOUT = 3,  /**< a deadline or timeout expired */
    MSB_EUNAVAIL = 4,   /**< a server or dependency cannot be reached */
    MSB_ENOTSUP = 5,    /**< not supported (by this build, this backend or this server) */
    MSB_ENOTFOUND = 6,  /**< the thing named does not exist */
    MSB_EEXIST = 7,     /**< the thing named already exists */
    MSB_EIO = 8,        /**< an operating-system I/O error */
    MSB_EPROTO = 9,     /**< malformed input or a protocol violation by a peer */
    MSB_ERANGE = 10,    /**< a value is outside its allowed range */
    MSB_EBUSY = 11,     /**< the resource is busy or a pool is exhausted */
    MSB_ECANCELED = 12, /**< the operation was cancelled */
    MSB_EREJECTED = 13, /**< refused by a breaker, limiter, bulkhead or load shedder */
    MSB_ECONFLICT = 14, /**< a concurrent change won (version mismatch, serialization failure) */
    MSB_EAUTH = 15,     /**< authentication failed */
    MSB_EPERM = 16,     /**< authenticated but not allowed */
    MSB_ECLOSED = 17,   /**< the handle is closed or shutting down */
    MSB_ETOOBIG = 18,   /**< a size limit was exceeded */
    MSB_EINTERNAL = 19, /**< a bug in libmsb or a dependency: please report it */
    MSB_ELIMIT = 20     /**< a configured bound was reached (cardinality, keys, queue length) */
} msb_status_t;

/** Size of #msb_error_t's message buffer, terminating NUL included. */
#define MSB_ERROR_MESSAGE_MAX 256

/**
 * @brief Detail of a failure, filled by the function that failed.
 *
 * `message` is NUL-terminated UTF-8, one line, naming what was wrong ("http.listen: expected
 * host:port, got \"8080x\" (from MSB_HTTP__LISTEN)"). Long messages are truncated.
 * @since 0.1
 */
typedef struct msb_error {
    msb_status_t code;                   /**< same value as the function returned */
    char message[MSB_ERROR_MESSAGE_MAX]; /**< human-readable detail, never empty on failure */
} msb_error_t;

/** Initialiser for an #msb_error_t that holds no error. */
#define MSB_ERROR_INIT                                                                             \
    {                                                                                              \
        MSB_OK,                                                                                    \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/**
 * @brief Short static description of a status ("invalid argument", "timed out", …).
 *
 * @return static text, never NULL; unknown values give "unknown status".
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_strerror(msb_status_t status);

/**
 * @brief Symbolic name of a status ("MSB_EINVAL"), for logs and bindings.
 *
 * @return static text, never NULL; unknown values give "MSB_E?".
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_status_name(msb_status_t status);

MSB_END_DECLS

#endif /* MSB_ERROR_H */
