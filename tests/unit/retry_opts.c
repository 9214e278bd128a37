/* Retry and budget options: every validation error, defaults, allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "msb/retry.h"
#include "support/failing_alloc.h"

static void expect_invalid(const msb_retry_opts_t *o, const char *message)
{
    msb_retry_t *r = (msb_retry_t *)1;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_new(o, &r, &err), MSB_EINVAL, "expected: %s", message);
    cr_assert_str_eq(err.message, message);
    cr_assert_null(r);
}

#define BAD(field, value, message)                                                                 \
    do {                                                                                           \
        msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;                                                  \
        o.field = value;                                                                           \
        expect_invalid(&o, message);                                                               \
    } while (0)

Test(retry_opts, every_invalid_field_is_named)
{
    BAD(max_attempts, 0, "retry: max_attempts 0 not in 1..1000");
    BAD(max_attempts, 1001, "retry: max_attempts 1001 not in 1..1000");
    BAD(initial_backoff_ns, 999, "retry: initial_backoff_ns 999 is under 1 us");
    BAD(max_backoff_ns, 1000, "retry: max_backoff_ns 1000 is below initial_backoff_ns 100000000");
    BAD(multiplier, 0.9, "retry: multiplier 0.9 not in [1, 100]");
    BAD(multiplier, NAN, "retry: multiplier nan not in [1, 100]");
    BAD(jitter, (msb_retry_jitter_t)4, "retry: jitter 4 is not a jitter kind");
    msb_retry_budget_t *b = NULL;
    cr_assert_eq(msb_retry_budget_new(NULL, &b, NULL), MSB_OK);
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.budget = b;
    o.no_budget = true;
    expect_invalid(&o, "retry: budget is set and no_budget is true");
    msb_retry_budget_free(b);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "retry: out is NULL");
}

Test(retry_opts, every_invalid_budget_field_is_named)
{
    const struct {
        msb_retry_budget_opts_t o;
        const char *msg;
    } cases[] = {
        {{sizeof(msb_retry_budget_opts_t), NULL, -1, 10, MSB_SEC, 10},
         "retry budget: ratio -1 not in [0, 100]"},
        {{sizeof(msb_retry_budget_opts_t), NULL, 0.2, 2e6, MSB_SEC, 10},
         "retry budget: min_retries_per_sec 2e+06 not in [0, 1e6]"},
        {{sizeof(msb_retry_budget_opts_t), NULL, 0.2, 10, 5, 10},
         "retry budget: window_ns 5 is under 1 ms"},
        {{sizeof(msb_retry_budget_opts_t), NULL, 0.2, 10, MSB_SEC, 0},
         "retry budget: window_buckets 0 not in 1..3600"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msb_retry_budget_t *b = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(msb_retry_budget_new(&cases[i].o, &b, &err), MSB_EINVAL);
        cr_assert_str_eq(err.message, cases[i].msg);
        cr_assert_null(b);
    }
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_budget_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "retry budget: out is NULL");
}

Test(retry_opts, every_allocation_failure_is_enomem_without_leaks)
{
    for (int kind = 0; kind < 3; kind++) {
        MSB_FAILING_ALLOC_LOOP(n)
        {
            failing_alloc_install(n);
            msb_status_t rc;
            if (kind == 0) {
                msb_retry_t *r = NULL;
                rc = msb_retry_new(NULL, &r, NULL);
                msb_retry_free(r);
            } else if (kind == 1) {
                msb_retry_budget_t *b = NULL;
                rc = msb_retry_budget_new(NULL, &b, NULL);
                msb_retry_budget_free(b);
            } else {
                msb_retry_cancel_t *c = NULL;
                rc = msb_retry_cancel_new(&c);
                msb_retry_cancel_free(c);
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
