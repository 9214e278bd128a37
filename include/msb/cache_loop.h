/**
 * @file cache_loop.h
 * @brief The cache on a libevent loop: asynchronous get/set/delete over one pipelined Redis
 * connection per loop, and cache-aside with asynchronous loaders and single-flight per loop.
 *
 * An #msb_cache_loop_t belongs to the thread running its event loop; every callback runs on that
 * thread, never inside the call that started the operation. See cache.h for the cache itself
 * and docs/cache.md for the design.
 */
#ifndef MSB_CACHE_LOOP_H
#define MSB_CACHE_LOOP_H

#include "msb/cache.h"

MSB_BEGIN_DECLS

struct event_base;

/** @brief A cache's handle for one libevent loop (opaque). @since 0.1 */
typedef struct msb_cache_loop msb_cache_loop_t;

/**
 * @brief Bind a cache to a libevent loop: Redis commands run on one asynchronous, pipelined
 * connection driven by the loop; in-process lookups complete without I/O.
 *
 * @param c the cache (outlives the loop handle).
 * @param base the loop.
 * @param out receives the handle.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_ENOMEM, #MSB_EINVAL.
 * Ownership: *out is new; free it with msb_cache_loop_free() on the loop's thread.
 * Thread-safety: call on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_loop_new(msb_cache_t *c, struct event_base *base,
                                        msb_cache_loop_t **out, msb_error_t *err);

/**
 * @brief Free a loop handle: operations in flight complete with #MSB_ECANCELED, inside this
 * call. NULL is a no-op. May be called from a completion callback.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API void msb_cache_loop_free(msb_cache_loop_t *l);

/**
 * @brief Completion of an asynchronous lookup.
 * @param status #MSB_OK with `value`, #MSB_ENOTFOUND, or a failure with `err`.
 * @param value the value on #MSB_OK: a borrowed reference valid during the call (retain it to
 *   keep it).
 * @param err the failure's detail, or NULL on success and #MSB_ENOTFOUND.
 * @param user the caller's pointer.
 * @since 0.1
 */
typedef void (*msb_cache_get_cb)(msb_status_t status, msb_cache_value_t *value,
                                 const msb_error_t *err, void *user);

/**
 * @brief Completion of an asynchronous write or delete.
 * @param status #MSB_OK or the failure.
 * @param err the detail of a failure, else NULL.
 * @param user the caller's pointer.
 * @since 0.1
 */
typedef void (*msb_cache_done_cb)(msb_status_t status, const msb_error_t *err, void *user);

/**
 * @brief Asynchronous msb_cache_get(). `cb` runs once, later, on the loop's thread (never
 * inside this call), also when Redis is unreachable.
 * @param l the loop handle.
 * @param key the key (copied).
 * @param key_len its length (≥ 1).
 * @param cb the completion.
 * @param user passed to `cb`.
 * @param err optional detail.
 * @return #MSB_OK (cb will run); #MSB_EINVAL, #MSB_ETOOBIG, #MSB_ENOMEM (cb will not run).
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_loop_get(msb_cache_loop_t *l, const void *key, size_t key_len,
                                        msb_cache_get_cb cb, void *user, msb_error_t *err);

/**
 * @brief Asynchronous msb_cache_set(); `cb` may be NULL. Rules as msb_cache_loop_get().
 * @param l the loop handle.
 * @param key the key (copied).
 * @param key_len its length.
 * @param value the value (copied).
 * @param value_len its length.
 * @param ttl_ns as in msb_cache_set().
 * @param cb the completion, or NULL.
 * @param user passed to `cb`.
 * @param err optional detail.
 * @return #MSB_OK or the reason `cb` will not run.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_loop_set(msb_cache_loop_t *l, const void *key, size_t key_len,
                                        const void *value, size_t value_len, int64_t ttl_ns,
                                        msb_cache_done_cb cb, void *user, msb_error_t *err);

/**
 * @brief Asynchronous msb_cache_delete(); `cb` may be NULL. Rules as msb_cache_loop_get().
 * @param l the loop handle.
 * @param key the key.
 * @param key_len its length.
 * @param cb the completion, or NULL.
 * @param user passed to `cb`.
 * @param err optional detail.
 * @return #MSB_OK or the reason `cb` will not run.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_loop_delete(msb_cache_loop_t *l, const void *key, size_t key_len,
                                           msb_cache_done_cb cb, void *user, msb_error_t *err);

/**
 * @brief An asynchronous loader: start fetching `key`, then call msb_cache_fill_value() (and
 * msb_cache_fill_ttl()) and finally msb_cache_fill_done() exactly once, on the loop's thread,
 * now or later.
 * @param user the loader's pointer.
 * @param key the key (valid until msb_cache_fill_done()).
 * @param key_len its length.
 * @param fill the fill to complete.
 * @since 0.1
 */
typedef void (*msb_cache_async_load_fn)(void *user, const void *key, size_t key_len,
                                        msb_cache_fill_t *fill);

/**
 * @brief Finish an asynchronous load.
 * @param fill the fill handed to the loader (invalid after this call).
 * @param status #MSB_OK (after msb_cache_fill_value()), #MSB_ENOTFOUND, or a failure.
 * @param err the failure's detail (copied), or NULL.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API void msb_cache_fill_done(msb_cache_fill_t *fill, msb_status_t status,
                                 const msb_error_t *err);

/**
 * @brief Asynchronous cache-aside with single-flight per loop handle: concurrent requests for a
 * key on this loop share one load; stale entries are served while one refresh runs; "not found"
 * is cached as configured. Rules as msb_cache_loop_get().
 * @param l the loop handle.
 * @param key the key (copied).
 * @param key_len its length (≥ 1).
 * @param load the asynchronous loader.
 * @param load_user passed to `load`.
 * @param cb the completion.
 * @param user passed to `cb`.
 * @param err optional detail.
 * @return #MSB_OK (cb will run) or the reason it will not.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_loop_get_or_load(msb_cache_loop_t *l, const void *key,
                                                size_t key_len, msb_cache_async_load_fn load,
                                                void *load_user, msb_cache_get_cb cb, void *user,
                                                msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_CACHE_LOOP_H */
