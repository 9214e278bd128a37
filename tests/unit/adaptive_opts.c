/* Adaptive limit and shedder options: every validation error, defaults, allocation failures. */
#include <criterion/criterion.h>
#include <math.h>

#include "msb/adaptive.h"
#include "support/failing_alloc.h"

#define BAD_LIMIT(field, value, msg)                                                               \
    do {                                                                                           \
        msb_adaptive_limit_opts_t o = MSB_ADAPTIVE_LIMIT_OPTS_INIT;                                \
        o.field = value;                                                                           \
        msb_adaptive_limit_t *l = (msb_adaptive_limit_t *)1;                                       \
        msb_error_t err = MSB_ERROR_INIT;                                                          \
        cr_assert_eq(msb_adaptive_limit_new(&o, &l, &err), MSB_EINVAL, "%s", msg);                 \
        cr_assert_str_eq(err.message, msg);                                                        \
        cr_assert_null(l);                                                                         \
    } while (0)

#define BAD_SHEDDER(field, value, msg)                                                             \
    do {                                                                                           \
        msb_adaptive_shedder_opts_t o = MSB_ADAPTIVE_SHEDDER_OPTS_INIT;                            \
        o.field = value;                                                                           \
        msb_adaptive_shedder_t *s = (msb_adaptive_shedder_t *)1;                                   \
        msb_error_t err = MSB_ERROR_INIT;                                                          \
        cr_assert_eq(msb_adaptive_shedder_new(&o, &s, &err), MSB_EINVAL, "%s", msg);               \
        cr_assert_str_eq(err.message, msg);                                                        \
        cr_assert_null(s);                                                                         \
    } while (0)

Test(adaptive_opts, every_invalid_limit_field_is_named)
{
    BAD_LIMIT(algorithm, (msb_adaptive_algorithm_t)5,
              "adaptive limit: algorithm 5 is not an algorithm");
    BAD_LIMIT(min_limit, 0,
              "adaptive limit: min_limit 0 and max_limit 1000 must satisfy 1 <= min_limit <= "
              "max_limit <= 1000000");
    BAD_LIMIT(max_limit, 2000000,
              "adaptive limit: min_limit 1 and max_limit 2000000 must satisfy 1 <= min_limit <= "
              "max_limit <= 1000000");
    BAD_LIMIT(initial_limit, 1001, "adaptive limit: initial_limit 1001 not in [1, 1000]");
    BAD_LIMIT(initial_limit, 0, "adaptive limit: initial_limit 0 not in [1, 1000]");
    BAD_LIMIT(window_samples, 0, "adaptive limit: window_samples 0 not in 1..10000");
    BAD_LIMIT(backoff_ratio, 1.0, "adaptive limit: backoff_ratio 1 not in [0.5, 1)");
    BAD_LIMIT(backoff_ratio, NAN, "adaptive limit: backoff_ratio nan not in [0.5, 1)");
    BAD_LIMIT(rtt_tolerance, 0.5, "adaptive limit: rtt_tolerance 0.5 not in [1, 10]");
    BAD_LIMIT(smoothing, 0.0, "adaptive limit: smoothing 0 not in (0, 1]");
    BAD_LIMIT(long_window, 9, "adaptive limit: long_window 9 is under 10");
    BAD_LIMIT(queue_size, 1001, "adaptive limit: queue_size 1001 is over 1000");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_adaptive_limit_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "adaptive limit: out is NULL");
}

Test(adaptive_opts, every_invalid_shedder_field_is_named)
{
    BAD_SHEDDER(cpu_threshold, 0, "adaptive shedder: cpu_threshold 0 not in 1..999");
    BAD_SHEDDER(cpu_threshold, 1000, "adaptive shedder: cpu_threshold 1000 not in 1..999");
    BAD_SHEDDER(window_ns, 9999999, "adaptive shedder: window_ns 9999999 is under 10 ms");
    BAD_SHEDDER(window_buckets, 1, "adaptive shedder: window_buckets 1 not in 2..3600");
    BAD_SHEDDER(cpu_interval_ns, 999999, "adaptive shedder: cpu_interval_ns 999999 is under 1 ms");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_adaptive_shedder_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "adaptive shedder: out is NULL");
}

Test(adaptive_opts, defaults)
{
    msb_adaptive_limit_t *l = NULL;
    cr_assert_eq(msb_adaptive_limit_new(NULL, &l, NULL), MSB_OK);
    msb_adaptive_limit_stats_t s = {.size = sizeof(s)};
    msb_adaptive_limit_stats(l, &s);
    cr_assert_eq(s.limit, 20);
    msb_adaptive_limit_free(l);
    msb_adaptive_limit_free(NULL);
    msb_adaptive_shedder_free(NULL);
}

Test(adaptive_opts, every_allocation_failure_is_enomem_without_leaks)
{
    for (int kind = 0; kind < 2; kind++) {
        MSB_FAILING_ALLOC_LOOP(n)
        {
            failing_alloc_install(n);
            msb_status_t rc;
            if (kind == 0) {
                msb_adaptive_limit_t *l = NULL;
                rc = msb_adaptive_limit_new(NULL, &l, NULL);
                msb_adaptive_limit_free(l);
            } else {
                msb_adaptive_shedder_t *s = NULL;
                rc = msb_adaptive_shedder_new(NULL, &s, NULL); /* reads the real system */
                msb_adaptive_shedder_free(s);
            }
            failing_alloc_remove();
            cr_assert(rc == MSB_OK || rc == MSB_ENOMEM);
            cr_assert_eq(failing_alloc_live(), 0, "leak after failing allocation %ld", n);
            if (rc == MSB_OK) {
                break;
            }
        }
    }
}
