// msb-test: backends redis
/* Pieces of the shared Redis connection layer that need no server: backoff, error replies. */
#include <criterion/criterion.h>
#include <string.h>

#include "redis/redis.h"

Test(redis_conn, backoff_doubles_with_jitter_up_to_the_cap)
{
    msb__redis_backoff_t b = {.min_ns = 100 * MSB_MSEC, .max_ns = 1000 * MSB_MSEC};
    uint64_t now = 5 * (uint64_t)MSB_SEC;
    int64_t want[] = {100, 200, 400, 800, 1000, 1000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t d = want[i] * MSB_MSEC;
        for (int k = 0; k < 50; k++) {
            msb__redis_backoff_t c = b;
            int64_t w = msb__redis_backoff_fail(&c, now);
            cr_assert(w >= d / 2 && w <= d, "step %zu: wait %lld not in [%lld, %lld]", i,
                      (long long)w, (long long)(d / 2), (long long)d);
            cr_assert_eq(c.next_at, now + (uint64_t)w);
        }
        msb__redis_backoff_fail(&b, now);
    }
    msb__redis_backoff_ok(&b);
    cr_assert_eq(b.cur_ns, 0);
    cr_assert_eq(b.next_at, 0);
    cr_assert_leq(msb__redis_backoff_fail(&b, now), 100 * MSB_MSEC, "back to the minimum");
}

static msb_status_t status_of(const char *text)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ERROR;
    r.str = (char *)text;
    r.len = strlen(text);
    return msb__redis_error_status(&r);
}

Test(redis_conn, error_replies)
{
    cr_assert_eq(status_of("LOADING Redis is loading the dataset in memory"), MSB_EUNAVAIL);
    cr_assert_eq(status_of("READONLY You can't write against a read only replica."), MSB_EUNAVAIL);
    cr_assert_eq(status_of("BUSY Redis is busy running a script."), MSB_EUNAVAIL);
    cr_assert_eq(status_of("MASTERDOWN Link with MASTER is down"), MSB_EUNAVAIL);
    cr_assert_eq(status_of("TRYAGAIN"), MSB_EUNAVAIL);
    cr_assert_eq(status_of("CLUSTERDOWN The cluster is down"), MSB_EUNAVAIL);
    cr_assert_eq(status_of("NOAUTH Authentication required."), MSB_EAUTH);
    cr_assert_eq(status_of("WRONGPASS invalid username-password pair"), MSB_EAUTH);
    cr_assert_eq(status_of("NOPERM this user has no permissions"), MSB_EAUTH);
    cr_assert_eq(status_of("WRONGTYPE Operation against a key holding the wrong kind of value"),
                 MSB_EPROTO);
    cr_assert_eq(status_of("BUSYKEY Target key name already exists."), MSB_EPROTO);
    cr_assert_eq(status_of("LOADINGX"), MSB_EPROTO);
    cr_assert_eq(status_of(""), MSB_EPROTO);
}
