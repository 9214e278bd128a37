/**
 * @file core.h
 * @brief Global initialisation and the allocator hook.
 */
#ifndef MSB_CORE_H
#define MSB_CORE_H

#include <stddef.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

/**
 * @brief Replacement for libmsb's own allocations.
 *
 * Every function receives `user` as its last argument. `realloc` must behave like C's realloc
 * (NULL pointer allocates; it is never called with size 0). `free` must accept NULL.
 * @since 0.1
 */
typedef struct msb_allocator {
    void *(*malloc)(size_t size, void *user);             /**< allocate `size` bytes */
    void *(*realloc)(void *ptr, size_t size, void *user); /**< resize an allocation */
    void (*free)(void *ptr, void *user);                  /**< release an allocation */
    void *user;                                           /**< passed to every call */
} msb_allocator_t;

/**
 * @brief Replace the allocator used for libmsb's own memory.
 *
 * Call it before any other libmsb function, or after every object made by libmsb has been freed:
 * memory allocated by one allocator is released by the allocator current at the time of the free.
 * The allocators of libevent, jansson and the client libraries are process-wide and belong to the
 * host program; this hook does not touch them.
 *
 * @param alloc the new allocator, copied; NULL restores the C library's malloc/realloc/free.
 * @return #MSB_OK, or #MSB_EINVAL when a function pointer is NULL.
 * Thread-safety: not thread-safe; call it while no other thread uses libmsb.
 * @since 0.1
 */
MSB_API msb_status_t msb_set_allocator(const msb_allocator_t *alloc);

/**
 * @brief Global set-up: libcurl's global init (when the curl backend is loaded), OpenSSL, and the
 * random seed.
 *
 * Optional: every module initialises lazily what it needs. Programs that start threads before
 * touching libmsb, or that also use libcurl themselves, call it first, once. Calls nest: each
 * msb_init() is matched by one msb_fini().
 *
 * @return #MSB_OK or an error status.
 * Thread-safety: not thread-safe; call from the main thread before starting others.
 * @since 0.1
 */
MSB_API msb_status_t msb_init(void);

/**
 * @brief Undo msb_init(); the last matching call releases global state.
 *
 * Thread-safety: not thread-safe; call after every other libmsb object is freed.
 * @since 0.1
 */
MSB_API void msb_fini(void);

MSB_END_DECLS

#endif /* MSB_CORE_H */
