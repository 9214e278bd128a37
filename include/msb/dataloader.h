/**
 * @file dataloader.h
 * @brief A batch loader in the DataLoader manner: keys requested during one event-loop
 * iteration (or within a short window, for blocking callers) are fetched with ONE call of a
 * batch function — one `SELECT … WHERE id = ANY($1)` instead of N queries — and the results are
 * handed to each requester.
 *
 * @code
 * static void load_users(void *db, msb_dataloader_batch_t *b) {
 *     // one query for msb_dataloader_batch_size(b) ids ...
 *     for (size_t i = 0; i < n; i++) msb_dataloader_batch_set(b, i, row_json, row_len);
 *     msb_dataloader_batch_done(b, MSB_OK, NULL);   // keys left unset: MSB_ENOTFOUND
 * }
 * msb_dataloader_opts_t o = MSB_DATALOADER_OPTS_INIT;
 * o.batch = load_users; o.user = db; o.base = base;    // loop mode
 * msb_dataloader_t *dl;
 * msb_dataloader_new(&o, &dl, &err);
 * for (each order) msb_dataloader_load(dl, order->user_id, len, on_user, order, &err);
 * // ... the loop runs: load_users is called once with the distinct ids
 * @endcode
 *
 * Keys are byte strings; a key requested twice is fetched once (deduplicated within a batch,
 * and, with msb_dataloader_opts_t::cache, remembered for the loader's life — make one loader
 * per request for per-request memoisation). Results are #msb_cache_value_t values (immutable,
 * reference-counted bytes; see cache.h).
 *
 * Two modes, chosen by msb_dataloader_opts_t::base:
 * - **loop mode** (`base` set): msb_dataloader_load() queues the key and returns; the batch
 *   function runs at the start of the next loop iteration with every key queued meanwhile;
 *   callbacks run on the loop's thread.
 * - **blocking mode** (`base` NULL): msb_dataloader_load_wait() blocks the calling thread; keys
 *   requested by any thread within `window_ns` of the first go in one batch (or as soon as
 *   `max_batch` keys are waiting); msb_dataloader_load_many() sends its keys at once.
 */
#ifndef MSB_DATALOADER_H
#define MSB_DATALOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/cache.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

struct event_base;

/** @brief A batch loader (opaque). @since 0.1 */
typedef struct msb_dataloader msb_dataloader_t;

/** @brief One batch handed to the batch function (opaque). @since 0.1 */
typedef struct msb_dataloader_batch msb_dataloader_batch_t;

/**
 * @brief The batch function: fetch every key of `batch`, set the results, then call
 * msb_dataloader_batch_done() exactly once — inside this call or later (loop mode: on the loop's
 * thread; blocking mode: from any thread).
 * @param user msb_dataloader_opts_t::user.
 * @param batch the keys (distinct), at most max_batch of them.
 * @since 0.1
 */
typedef void (*msb_dataloader_batch_fn)(void *user, msb_dataloader_batch_t *batch);

/** @brief Options of msb_dataloader_new(). Initialise with #MSB_DATALOADER_OPTS_INIT. @since 0.1 */
typedef struct msb_dataloader_opts {
    size_t size;                   /**< sizeof(msb_dataloader_opts_t) */
    msb_dataloader_batch_fn batch; /**< the batch function (required) */
    void *user;                    /**< passed to `batch` */
    size_t max_batch;              /**< keys per batch call at most (default 100) */
    bool cache; /**< remember results (and failures) per key for the loader's life (default true) */
    struct event_base *base; /**< loop mode when set; blocking mode when NULL (default NULL) */
    int64_t window_ns;       /**< blocking mode: how long the first waiting key waits for others
                                  before its batch is sent (default 1 ms; 0: at once) */
} msb_dataloader_opts_t;

/** Defaults: blocking mode, batches of 100, results remembered, a 1 ms window. */
#define MSB_DATALOADER_OPTS_INIT                                                                   \
    {                                                                                              \
        .size = sizeof(msb_dataloader_opts_t), .batch = NULL, .user = NULL, .max_batch = 100,      \
        .cache = true, .base = NULL, .window_ns = 1000000                                          \
    }

/** @brief Counters of a loader. @since 0.1 */
typedef struct msb_dataloader_stats {
    uint64_t batches; /**< batch function calls */
    uint64_t keys;    /**< keys sent to the batch function */
    uint64_t loads;   /**< loads requested (every key of every call) */
    uint64_t deduped; /**< loads answered without sending their key again (same key pending,
                           in flight, or remembered) */
} msb_dataloader_stats_t;

/**
 * @brief Create a loader.
 * @param opts options (batch is required).
 * @param out receives the loader.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (no batch function, max_batch 0, negative window), #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_dataloader_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_new(const msb_dataloader_opts_t *opts, msb_dataloader_t **out,
                                        msb_error_t *err);

/**
 * @brief Free a loader. Loop mode: loads not yet answered complete with #MSB_ECANCELED inside
 * this call. Every batch handed out must have been finished with msb_dataloader_batch_done().
 * NULL is a no-op.
 * Thread-safety: no other call may be using the loader (loop mode: on the loop's thread).
 * @since 0.1
 */
MSB_API void msb_dataloader_free(msb_dataloader_t *dl);

/**
 * @brief Completion of msb_dataloader_load().
 * @param status #MSB_OK with `value`, #MSB_ENOTFOUND, or the failure given by the batch.
 * @param value the value on #MSB_OK (borrowed for the call; retain it to keep it).
 * @param err the failure's detail, or NULL.
 * @param user the caller's pointer.
 * @since 0.1
 */
typedef void (*msb_dataloader_cb)(msb_status_t status, msb_cache_value_t *value,
                                  const msb_error_t *err, void *user);

/**
 * @brief Loop mode: request a key. `cb` runs once, on the loop's thread, never inside this call.
 * @param dl the loader (loop mode).
 * @param key the key (copied; at least one byte).
 * @param key_len its length.
 * @param cb the completion.
 * @param user passed to `cb`.
 * @param err optional detail.
 * @return #MSB_OK (cb will run), #MSB_EINVAL (empty key, NULL cb, blocking-mode loader),
 *   #MSB_ENOMEM.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_load(msb_dataloader_t *dl, const void *key, size_t key_len,
                                         msb_dataloader_cb cb, void *user, msb_error_t *err);

/**
 * @brief Blocking mode: request a key and wait for its batch.
 * @param dl the loader (blocking mode).
 * @param key the key (at least one byte).
 * @param key_len its length.
 * @param out receives the value on #MSB_OK.
 * @param err optional detail (the batch's failure).
 * @return #MSB_OK, #MSB_ENOTFOUND, the batch's failure, #MSB_EINVAL, #MSB_ENOMEM.
 * Ownership: *out is a new reference (msb_cache_value_release()).
 * Thread-safety: safe from any thread; the batch function may run on the calling thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_load_wait(msb_dataloader_t *dl, const void *key, size_t key_len,
                                              msb_cache_value_t **out, msb_error_t *err);

/**
 * @brief Blocking mode: request n keys at once (one batch per max_batch distinct keys) and wait.
 * @param dl the loader (blocking mode).
 * @param n how many keys.
 * @param keys the keys.
 * @param key_lens their lengths.
 * @param out n slots: a new reference on success, else NULL.
 * @param statuses n slots (optional): each key's status.
 * @param err optional detail (of the first failed key).
 * @return #MSB_OK when every key was answered (#MSB_ENOTFOUND counts as an answer), else the
 *   first failure; #MSB_EINVAL for bad arguments (nothing requested).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_load_many(msb_dataloader_t *dl, size_t n,
                                              const void *const *keys, const size_t *key_lens,
                                              msb_cache_value_t **out, msb_status_t *statuses,
                                              msb_error_t *err);

/**
 * @brief Send the keys queued so far now, instead of at the end of the loop iteration or
 * window.
 * Thread-safety: loop mode on the loop's thread; blocking mode from any thread.
 * @since 0.1
 */
MSB_API void msb_dataloader_dispatch(msb_dataloader_t *dl);

/**
 * @brief Forget the remembered result of a key (after a write), so the next load fetches it.
 * A key pending or in flight is not affected.
 * @param dl the loader.
 * @param key the key.
 * @param key_len its length.
 * Thread-safety: as msb_dataloader_dispatch().
 * @since 0.1
 */
MSB_API void msb_dataloader_clear(msb_dataloader_t *dl, const void *key, size_t key_len);

/**
 * @brief Forget every remembered result.
 * Thread-safety: as msb_dataloader_dispatch().
 * @since 0.1
 */
MSB_API void msb_dataloader_clear_all(msb_dataloader_t *dl);

/**
 * @brief Remember a value for a key without fetching it (when another query already returned
 * it). Does nothing when the key is already known or `cache` is off.
 * @param dl the loader.
 * @param key the key.
 * @param key_len its length.
 * @param value the value (copied).
 * @param len its length.
 * @return #MSB_OK, #MSB_EINVAL, #MSB_ENOMEM.
 * Thread-safety: as msb_dataloader_dispatch().
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_prime(msb_dataloader_t *dl, const void *key, size_t key_len,
                                          const void *value, size_t len);

/**
 * @brief Read the counters.
 * @param dl the loader.
 * @param out receives them.
 * Thread-safety: as msb_dataloader_dispatch().
 * @since 0.1
 */
MSB_API void msb_dataloader_stats(msb_dataloader_t *dl, msb_dataloader_stats_t *out);

/* ---- inside the batch function ------------------------------------------------------------ */

/**
 * @brief How many keys the batch holds.
 * @param b the batch.
 * @return the number of (distinct) keys.
 * @since 0.1
 */
MSB_API size_t msb_dataloader_batch_size(const msb_dataloader_batch_t *b);

/**
 * @brief The i-th key of the batch.
 * @param b the batch.
 * @param i its index, below msb_dataloader_batch_size().
 * @param len receives its length.
 * @return the key's bytes, borrowed until msb_dataloader_batch_done() (a NUL follows them).
 * @since 0.1
 */
MSB_API const void *msb_dataloader_batch_key(const msb_dataloader_batch_t *b, size_t i,
                                             size_t *len);

/**
 * @brief Give the value of the i-th key (copied); a second call replaces it.
 * @param b the batch.
 * @param i the key's index.
 * @param value its bytes (NULL allowed when len is 0).
 * @param len their number.
 * @return #MSB_OK, #MSB_EINVAL (index out of range), #MSB_ENOMEM.
 * Thread-safety: one thread at a time per batch, before msb_dataloader_batch_done().
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_batch_set(msb_dataloader_batch_t *b, size_t i,
                                              const void *value, size_t len);

/**
 * @brief Fail the i-th key alone (for example a row that could not be decoded).
 * @param b the batch.
 * @param i the key's index.
 * @param status its status (not #MSB_OK).
 * @param err optional detail (copied).
 * @return #MSB_OK or #MSB_EINVAL.
 * @since 0.1
 */
MSB_API msb_status_t msb_dataloader_batch_fail(msb_dataloader_batch_t *b, size_t i,
                                               msb_status_t status, const msb_error_t *err);

/**
 * @brief Finish the batch: keys without a value or failure get `status` when it is a failure,
 * else #MSB_ENOTFOUND. The batch is invalid afterwards.
 * @param b the batch.
 * @param status #MSB_OK, or the failure of the whole batch (the query failed).
 * @param err optional detail of that failure (copied).
 * Thread-safety: see #msb_dataloader_batch_fn.
 * @since 0.1
 */
MSB_API void msb_dataloader_batch_done(msb_dataloader_batch_t *b, msb_status_t status,
                                       const msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_DATALOADER_H */
