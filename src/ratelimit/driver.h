/*
 * The rate limiter's backend table. The core (distributed.c) applies the failure policies and the
 * local fallback; a backend only runs the limit's script on its server. The Redis backend lives
 * in src/ratelimit/redis/ and is built into libmsb-redis.so; the core finds it with
 * msb__driver_get("ratelimit", "redis", ...).
 */
#ifndef MSB_RATELIMIT_DRIVER_H
#define MSB_RATELIMIT_DRIVER_H

#include "ratelimit/internal.h"

struct event_base;

/* Bumped whenever the table changes: a core and a plugin from different builds refuse each
 * other instead of calling through a mismatched table. */
#define MSB__RATELIMIT_DRIVER_ABI 1

typedef struct msb__rl_backend_cfg {
    const char *url;
    const char *prefix; /* prepended to every key */
    size_t pool_size;
    int64_t connect_timeout_ns;
    int64_t timeout_ns;
    int64_t backoff_min_ns;
    int64_t backoff_max_ns;
    const msb__rl_params_t *params; /* copied */
} msb__rl_backend_cfg_t;

/* The server's decision. */
typedef struct msb__rl_reply {
    bool allowed;
    uint64_t remaining;
    int64_t retry_after_ns;
    int64_t reset_ns;
} msb__rl_reply_t;

/* An asynchronous decision: status MSB_OK with the reply, or the failure (MSB_EUNAVAIL,
 * MSB_ETIMEDOUT, MSB_EPROTO, MSB_EAUTH …; MSB_ECANCELED when the loop handle was freed) with its
 * detail. `key` is the key that was asked about. Runs on the loop's thread. */
typedef void (*msb__rl_async_cb)(msb_status_t status, const msb__rl_reply_t *reply,
                                 const msb_error_t *err, const void *key, size_t key_len,
                                 void *user);

typedef struct msb__ratelimit_driver {
    uint32_t abi;   /* MSB__RATELIMIT_DRIVER_ABI */
    size_t key_max; /* longest key (prefix excluded) */
    msb_status_t (*open)(const msb__rl_backend_cfg_t *cfg, void **out, msb_error_t *err);
    void (*close)(void *h);
    /* Blocking, thread-safe. MSB_OK with *out, or the failure with its detail. */
    msb_status_t (*take)(void *h, const void *key, size_t len, uint64_t n, msb__rl_reply_t *out,
                         msb_error_t *err);
    bool (*up)(void *h);
    int64_t (*retry_in)(void *h); /* ns until the next connection attempt */
    /* A connection on a loop; loop_close completes what is in flight with MSB_ECANCELED. */
    msb_status_t (*loop_open)(void *h, struct event_base *base, void **out, msb_error_t *err);
    void (*loop_close)(void *loop);
    /* MSB_OK: cb runs once, later, on the loop (also when the server is unreachable). */
    msb_status_t (*take_async)(void *loop, const void *key, size_t len, uint64_t n,
                               msb__rl_async_cb cb, void *user, msb_error_t *err);
    bool (*loop_up)(void *loop);
} msb__ratelimit_driver_t;

#endif
