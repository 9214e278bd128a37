/*
 * The cache's backend table. The core (the .c files of src/cache) keeps the in-process tier,
 * single-flight, TTLs and the value header; a backend stores bytes under keys with a millisecond
 * TTL and carries invalidation messages. The Redis backend lives in src/cache/redis/ and is built
 * into libmsb-redis.so; the core finds it with msb__driver_get("cache", "redis", ...).
 */
#ifndef MSB_CACHE_DRIVER_H
#define MSB_CACHE_DRIVER_H

#include "core/common.h"

struct event_base;

/* Bumped whenever the table changes: a core and a plugin from different builds refuse each
 * other instead of calling through a mismatched table. */
#define MSB__CACHE_DRIVER_ABI 1

typedef struct msb__cache_backend_cfg {
    const char *url;
    const char *prefix;  /* prepended to every key */
    const char *channel; /* pub/sub channel of invalidations */
    size_t pool_size;
    int64_t connect_timeout_ns;
    int64_t timeout_ns;
} msb__cache_backend_cfg_t;

/* The stored bytes of a key (data NULL: no such key). Called during the command, with bytes
 * valid only for the call; it may not call the backend. */
typedef void (*msb__cache_bytes_cb)(void *user, size_t index, const void *data, size_t len);
/* An invalidation message, on the subscriber's thread. */
typedef void (*msb__cache_msg_cb)(void *user, const void *msg, size_t len);
/* The subscriber (re)connected (`up`) or lost its connection. */
typedef void (*msb__cache_state_cb)(void *user, bool up);
/* End of an asynchronous command, on the loop's thread. */
typedef void (*msb__cache_adone_cb)(void *user, msb_status_t status, const msb_error_t *err);

typedef struct msb__cache_driver {
    uint32_t abi; /* MSB__CACHE_DRIVER_ABI */
    msb_status_t (*open)(const msb__cache_backend_cfg_t *cfg, void **out, msb_error_t *err);
    void (*close)(void *h);

    /* Blocking, thread-safe (a pool of connections), n commands in one pipeline. `px_ms` 0: no
     * expiry. `msg`/`msgs` (optional, msgs[i] may be NULL): published on the channel in the
     * same round trip. */
    msb_status_t (*get)(void *h, size_t n, const void *const *keys, const size_t *lens,
                        msb__cache_bytes_cb cb, void *user, msb_error_t *err);
    msb_status_t (*set)(void *h, size_t n, const void *const *keys, const size_t *key_lens,
                        const void *const *values, const size_t *value_lens, const int64_t *px_ms,
                        const void *const *msgs, const size_t *msg_lens, msb_error_t *err);
    msb_status_t (*del)(void *h, const void *key, size_t key_len, const void *msg, size_t msg_len,
                        msb_error_t *err);
    msb_status_t (*publish)(void *h, const void *msg, size_t msg_len, msb_error_t *err);

    /* A subscriber thread on the channel, reconnecting with backoff until unsubscribe. */
    msb_status_t (*subscribe)(void *h, msb__cache_msg_cb on_msg, msb__cache_state_cb on_state,
                              void *user, void **out, msb_error_t *err);
    void (*unsubscribe)(void *sub);

    /* One asynchronous pipelined connection on a loop; loop_close completes what is in flight
     * with MSB_ECANCELED. On MSB_OK the done callback runs once, later, on the loop. */
    msb_status_t (*loop_open)(void *h, struct event_base *base, void **out, msb_error_t *err);
    void (*loop_close)(void *loop);
    msb_status_t (*aget)(void *loop, const void *key, size_t key_len, msb__cache_bytes_cb on_bytes,
                         msb__cache_adone_cb done, void *user, msb_error_t *err);
    msb_status_t (*aset)(void *loop, const void *key, size_t key_len, const void *value,
                         size_t value_len, int64_t px_ms, const void *msg, size_t msg_len,
                         msb__cache_adone_cb done, void *user, msb_error_t *err);
    msb_status_t (*adel)(void *loop, const void *key, size_t key_len, const void *msg,
                         size_t msg_len, msb__cache_adone_cb done, void *user, msb_error_t *err);
} msb__cache_driver_t;

#endif
