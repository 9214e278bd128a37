/* Breaker and throttle options: defaults, versioned sizes, every validation error, ENOMEM. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "msb/breaker.h"
#include "support/failing_alloc.h"

static void expect_invalid(msb_breaker_opts_t *o, const char *message)
{
    msb_breaker_t *b = (msb_breaker_t *)1;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_breaker_new(o, &b, &err), MSB_EINVAL, "expected: %s", message);
    cr_assert_eq(err.code, MSB_EINVAL);
    cr_assert_str_eq(err.message, message);
    cr_assert_null(b);
}

#define BAD(field, value, message)                                                                 \
    do {                                                                                           \
        msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;                                              \
        o.field = value;                                                                           \
        expect_invalid(&o, message);                                                               \
    } while (0)

Test(breaker_opts, every_invalid_field_is_named)
{
    BAD(window, (msb_breaker_window_t)7, "breaker: window 7 is not a window kind");
    BAD(window_size, 0, "breaker: window_size 0 not in 1..1000000");
    BAD(window_size, 1000001, "breaker: window_size 1000001 not in 1..1000000");
    BAD(window_ns, 999999, "breaker: window_ns 999999 is under 1 ms");
    BAD(window_buckets, 0, "breaker: window_buckets 0 not in 1..3600");
    BAD(window_buckets, 3601, "breaker: window_buckets 3601 not in 1..3600");
    BAD(minimum_calls, 0, "breaker: minimum_calls must be at least 1");
    BAD(failure_rate_threshold, 0.0, "breaker: failure_rate_threshold 0 not in (0, 1]");
    BAD(failure_rate_threshold, 1.5, "breaker: failure_rate_threshold 1.5 not in (0, 1]");
    BAD(failure_rate_threshold, NAN, "breaker: failure_rate_threshold nan not in (0, 1]");
    BAD(slow_call_rate_threshold, -0.1, "breaker: slow_call_rate_threshold -0.1 not in (0, 1]");
    BAD(open_wait_ns, 0, "breaker: open_wait_ns 0 is under 1 ms");
    BAD(open_wait_multiplier, 0.5, "breaker: open_wait_multiplier 0.5 not in [1, 100]");
    BAD(open_wait_multiplier, 101, "breaker: open_wait_multiplier 101 not in [1, 100]");
    BAD(open_wait_max_ns, MSB_SEC,
        "breaker: open_wait_max_ns 1000000000 is below open_wait_ns 60000000000");
    BAD(half_open_calls, 0, "breaker: half_open_calls 0 not in 1..100000");
    BAD(half_open_calls, 100001, "breaker: half_open_calls 100001 not in 1..100000");
}

Test(breaker_opts, out_may_not_be_null)
{
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_breaker_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "breaker: out is NULL");
    cr_assert_eq(msb_throttle_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "throttle: out is NULL");
}

Test(breaker_opts, null_options_are_the_defaults)
{
    msb_breaker_t *b = NULL;
    cr_assert_eq(msb_breaker_new(NULL, &b, NULL), MSB_OK);
    cr_assert_str_eq(msb_breaker_name(b), "breaker");
    msb_breaker_stats_t s = {.size = sizeof(s)};
    msb_breaker_stats(b, &s);
    cr_assert_eq(s.state, MSB_BREAKER_CLOSED);
    cr_assert_eq(s.open_wait_ns, (uint64_t)(60 * MSB_SEC));
    /* 99 failures: under the default minimum of 100. */
    for (int i = 0; i < 99; i++) {
        msb_breaker_permit_t p;
        cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
        msb_breaker_record(b, &p, MSB_BREAKER_FAILURE);
    }
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_free(b);
    msb_breaker_free(NULL);
}

Test(breaker_opts, an_older_smaller_struct_gets_defaults_for_the_rest)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.name = "old";
    o.window_size = 3;
    o.minimum_calls = 3;
    o.failure_rate_threshold = 0.1; /* beyond the old size: ignored */
    o.size = offsetof(msb_breaker_opts_t, failure_rate_threshold);
    msb_breaker_t *b = NULL;
    cr_assert_eq(msb_breaker_new(&o, &b, NULL), MSB_OK);
    cr_assert_str_eq(msb_breaker_name(b), "old");
    msb_breaker_permit_t p;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
        msb_breaker_record(b, &p, MSB_BREAKER_SUCCESS);
    }
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_breaker_record(b, &p, MSB_BREAKER_FAILURE); /* 1 of 3 < the default 0.5 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    /* A smaller stats struct is filled only as far as it reaches. */
    msb_breaker_stats_t s;
    memset(&s, 0xff, sizeof(s));
    s.size = offsetof(msb_breaker_stats_t, failures);
    msb_breaker_stats(b, &s);
    cr_assert_eq(s.calls, 3);
    cr_assert_eq(s.failures, UINT64_MAX);
    msb_breaker_free(b);
}

Test(breaker_opts, throttle_invalid_fields_are_named)
{
    const struct {
        msb_throttle_opts_t o;
        const char *msg;
    } cases[] = {
        {{.size = sizeof(msb_throttle_opts_t), .k = 0.5, .window_ns = MSB_SEC, .window_buckets = 1},
         "throttle: k 0.5 not in [1, 100]"},
        {{.size = sizeof(msb_throttle_opts_t), .k = 2, .window_ns = 10, .window_buckets = 1},
         "throttle: window_ns 10 is under 1 ms"},
        {{.size = sizeof(msb_throttle_opts_t), .k = 2, .window_ns = MSB_SEC, .window_buckets = 0},
         "throttle: window_buckets 0 not in 1..3600"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msb_throttle_t *t = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(msb_throttle_new(&cases[i].o, &t, &err), MSB_EINVAL);
        cr_assert_str_eq(err.message, cases[i].msg);
        cr_assert_null(t);
    }
}

static void no_op(msb_breaker_t *b, msb_breaker_state_t from, msb_breaker_state_t to, void *user)
{
    (void)b;
    (void)from;
    (void)to;
    (void)user;
}

Test(breaker_opts, every_allocation_failure_is_enomem_without_leaks)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    for (int kind = 0; kind < 4; kind++) {
        o.window = kind == 1 ? MSB_BREAKER_WINDOW_TIME : MSB_BREAKER_WINDOW_COUNT;
        o.on_state_change = kind == 2 ? no_op : NULL; /* the notice queue is allocated too */
        MSB_FAILING_ALLOC_LOOP(n)
        {
            failing_alloc_install(n);
            msb_status_t rc;
            if (kind < 3) {
                msb_breaker_t *b = NULL;
                msb_error_t err = MSB_ERROR_INIT;
                rc = msb_breaker_new(&o, &b, &err);
                if (rc == MSB_ENOMEM) {
                    cr_assert_null(b);
                    cr_assert_eq(strncmp(err.message, "out of memory", 13), 0, "%s", err.message);
                }
                msb_breaker_free(b);
            } else {
                msb_throttle_t *t = NULL;
                rc = msb_throttle_new(NULL, &t, NULL);
                msb_throttle_free(t);
            }
            failing_alloc_remove();
            cr_assert(rc == MSB_OK || rc == MSB_ENOMEM);
            cr_assert_eq(failing_alloc_live(), 0, "leak after failing allocation %ld", n);
            if (rc == MSB_OK) {
                cr_assert_gt(n, 0);
                break;
            }
        }
    }
}
