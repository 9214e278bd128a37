/* The distributed limiter, core side: shared by distributed.c and distributed_loop.c. */
#ifndef MSB_RATELIMIT_DISTRIBUTED_H
#define MSB_RATELIMIT_DISTRIBUTED_H

#include <pthread.h>
#include <stdatomic.h>

#include "msb/ratelimit_redis.h"
#include "ratelimit/driver.h"

/* Longest key the local fallback stores as is; longer ones go by a 17-byte digest. */
#define MSB__RLR_FALLBACK_KEY_MAX 64

struct msb_ratelimit_redis {
    const msb__ratelimit_driver_t *drv;
    void *h;
    msb__rl_params_t p;
    msb_ratelimit_failure_t policy;
    msb_ratelimit_keyed_t *local; /* MSB_RATELIMIT_FAIL_LOCAL */
    int64_t backoff_min_ns;
    _Atomic uint64_t redis;
    _Atomic uint64_t failures;
    _Atomic uint64_t fail_open;
    _Atomic uint64_t fail_closed;
    _Atomic uint64_t fallback;
    pthread_mutex_t err_lock;
    msb_error_t last_err;
};

/* Key and n checks shared by both calls; fills res for MSB_ERANGE. */
MSB_INTERNAL msb_status_t msb__rlr_check(const msb_ratelimit_redis_t *rl, const void *key,
                                         size_t len, uint64_t n, msb_ratelimit_result_t *res);
/* Redis decided. */
MSB_INTERNAL msb_status_t msb__rlr_fill_reply(const msb_ratelimit_redis_t *rl,
                                              const msb__rl_reply_t *reply,
                                              msb_ratelimit_result_t *res);
/* Redis could not decide: remember why. */
MSB_INTERNAL void msb__rlr_record(msb_ratelimit_redis_t *rl, const msb_error_t *err);
/* The policy decides; `retry_in` is the time until the next connection attempt. */
MSB_INTERNAL msb_status_t msb__rlr_policy(msb_ratelimit_redis_t *rl, const void *key, size_t len,
                                          uint64_t n, int64_t retry_in,
                                          msb_ratelimit_result_t *res);

#endif
