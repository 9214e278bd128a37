/* Shared by the Redis backend's blocking (driver.c) and loop (loop.c) halves. */
#ifndef MSB_RATELIMIT_REDIS_INTERNAL_H
#define MSB_RATELIMIT_REDIS_INTERNAL_H

#include "ratelimit/redis/script.h"
#include "redis/redis.h"

typedef struct msb__rl_redis {
    msb__redis_url_t url;
    msb__redis_pool_t *pool;
    msb__rl_script_args_t args;
    char prefix[MSB__RL_PREFIX_MAX];
    size_t prefix_len;
    char where[MSB__REDIS_HOST_MAX + 16];
    int64_t connect_timeout_ns;
    int64_t timeout_ns;
    int64_t backoff_min_ns;
    int64_t backoff_max_ns;
} msb__rl_redis_t;

MSB_INTERNAL msb_status_t msb__rl_redis_loop_open(void *h, struct event_base *base, void **out,
                                                  msb_error_t *err);
MSB_INTERNAL void msb__rl_redis_loop_close(void *loop);
MSB_INTERNAL msb_status_t msb__rl_redis_take_async(void *loop, const void *key, size_t len,
                                                   uint64_t n, msb__rl_async_cb cb, void *user,
                                                   msb_error_t *err);
MSB_INTERNAL bool msb__rl_redis_loop_up(void *loop);

#endif
