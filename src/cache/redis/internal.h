/* Shared by the cache's Redis backend: blocking half (driver.c), subscriber (sub.c), loop half
 * (loop.c). Connections come from the shared Redis layer in src/redis/. */
#ifndef MSB_CACHE_REDIS_INTERNAL_H
#define MSB_CACHE_REDIS_INTERNAL_H

#include "cache/driver.h"
#include "redis/redis.h"

#define MSB__CACHE_PREFIX_MAX  256
#define MSB__CACHE_BACKOFF_MIN (50 * MSB_MSEC)
#define MSB__CACHE_BACKOFF_MAX (5 * MSB_SEC)

typedef struct msb__cache_redis {
    msb__redis_url_t url;
    msb__redis_pool_t *pool;
    char prefix[MSB__CACHE_PREFIX_MAX];
    size_t prefix_len;
    char channel[MSB__CACHE_PREFIX_MAX + 8];
    size_t channel_len;
    char where[MSB__REDIS_HOST_MAX + 16];
    msb__redis_timeouts_t timeouts;
} msb__cache_redis_t;

/* prefix + key in *buf (grown with msb__realloc as needed); MSB_ENOMEM. */
MSB_INTERNAL msb_status_t msb__cache_redis_key(const msb__cache_redis_t *r, const void *key,
                                               size_t key_len, char **buf, size_t *cap,
                                               size_t *out_len);

MSB_INTERNAL msb_status_t msb__cache_redis_subscribe(void *h, msb__cache_msg_cb on_msg,
                                                     msb__cache_state_cb on_state, void *user,
                                                     void **out, msb_error_t *err);
MSB_INTERNAL void msb__cache_redis_unsubscribe(void *sub);

MSB_INTERNAL msb_status_t msb__cache_redis_loop_open(void *h, struct event_base *base, void **out,
                                                     msb_error_t *err);
MSB_INTERNAL void msb__cache_redis_loop_close(void *loop);
MSB_INTERNAL msb_status_t msb__cache_redis_aget(void *loop, const void *key, size_t key_len,
                                                msb__cache_bytes_cb on_bytes,
                                                msb__cache_adone_cb done, void *user,
                                                msb_error_t *err);
MSB_INTERNAL msb_status_t msb__cache_redis_aset(void *loop, const void *key, size_t key_len,
                                                const void *value, size_t value_len, int64_t px_ms,
                                                const void *msg, size_t msg_len,
                                                msb__cache_adone_cb done, void *user,
                                                msb_error_t *err);
MSB_INTERNAL msb_status_t msb__cache_redis_adel(void *loop, const void *key, size_t key_len,
                                                const void *msg, size_t msg_len,
                                                msb__cache_adone_cb done, void *user,
                                                msb_error_t *err);

#endif
