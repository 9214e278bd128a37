/* Retry-After seconds and the RateLimit-Policy / RateLimit field values. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/ratelimit.h"

static msb_ratelimit_result_t result(bool allowed, uint64_t limit, uint64_t remaining,
                                     int64_t reset, int64_t retry, int64_t window)
{
    msb_ratelimit_result_t r;
    memset(&r, 0, sizeof(r));
    r.allowed = allowed;
    r.limit = limit;
    r.remaining = remaining;
    r.reset_ns = reset;
    r.retry_after_ns = retry;
    r.window_ns = window;
    return r;
}

Test(ratelimit_headers, retry_after_rounds_up_to_whole_seconds)
{
    msb_ratelimit_result_t r = result(false, 1, 0, 0, 1, MSB_SEC);
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), 1); /* 1 ns: retry in 1 s, never 0 */
    r.retry_after_ns = MSB_SEC;
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), 1);
    r.retry_after_ns = MSB_SEC + 1;
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), 2);
    r.retry_after_ns = 0; /* denied with no wait cannot happen, but still says 1 */
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), 1);
    r.retry_after_ns = -1;
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), -1);
    r.allowed = true;
    cr_assert_eq(msb_ratelimit_retry_after_s(&r), 0);
    cr_assert_eq(msb_ratelimit_retry_after_s(NULL), 0);
}

Test(ratelimit_headers, fields)
{
    msb_ratelimit_result_t r = result(true, 100, 42, 1500 * INT64_C(1000000), 0, 60 * MSB_SEC);
    char policy[128];
    char state[128];
    cr_assert_eq(
        msb_ratelimit_format_headers(&r, "per-ip", policy, sizeof(policy), state, sizeof(state)),
        MSB_OK);
    cr_assert_str_eq(policy, "\"per-ip\";q=100;w=60");
    cr_assert_str_eq(state, "\"per-ip\";r=42;t=2");
    /* Full: t=0; a window under a second still says w=1. */
    r = result(true, 3, 3, 0, 0, 300 * INT64_C(1000000));
    cr_assert_eq(
        msb_ratelimit_format_headers(&r, "a", policy, sizeof(policy), state, sizeof(state)),
        MSB_OK);
    cr_assert_str_eq(policy, "\"a\";q=3;w=1");
    cr_assert_str_eq(state, "\"a\";r=3;t=0");
}

Test(ratelimit_headers, name_is_an_escaped_sf_string)
{
    msb_ratelimit_result_t r = result(true, 1, 1, 0, 0, MSB_SEC);
    char state[128];
    cr_assert_eq(msb_ratelimit_format_headers(&r, "say \"hi\" \\", NULL, 0, state, sizeof(state)),
                 MSB_OK);
    cr_assert_str_eq(state, "\"say \\\"hi\\\" \\\\\";r=1;t=0");
}

Test(ratelimit_headers, huge_numbers_are_clamped_to_sf_integers)
{
    msb_ratelimit_result_t r = result(true, UINT64_MAX, UINT64_MAX, INT64_MAX, 0, INT64_MAX);
    char policy[128];
    char state[128];
    cr_assert_eq(
        msb_ratelimit_format_headers(&r, "x", policy, sizeof(policy), state, sizeof(state)),
        MSB_OK);
    cr_assert_str_eq(policy, "\"x\";q=999999999999999;w=9223372037");
    cr_assert_str_eq(state, "\"x\";r=999999999999999;t=9223372037");
}

Test(ratelimit_headers, errors)
{
    msb_ratelimit_result_t r = result(true, 1, 1, 0, 0, MSB_SEC);
    char buf[128];
    cr_assert_eq(msb_ratelimit_format_headers(NULL, "a", buf, sizeof(buf), NULL, 0), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_format_headers(&r, NULL, buf, sizeof(buf), NULL, 0), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_format_headers(&r, "", buf, sizeof(buf), NULL, 0), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_format_headers(&r, "tab\there", buf, sizeof(buf), NULL, 0),
                 MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_format_headers(&r, "caf\xc3\xa9", buf, sizeof(buf), NULL, 0),
                 MSB_EINVAL);
    char longname[66];
    memset(longname, 'n', 65);
    longname[65] = '\0';
    cr_assert_eq(msb_ratelimit_format_headers(&r, longname, buf, sizeof(buf), NULL, 0), MSB_EINVAL);
    longname[64] = '\0';
    cr_assert_eq(msb_ratelimit_format_headers(&r, longname, buf, sizeof(buf), buf, sizeof(buf)),
                 MSB_OK);
    char small[8];
    cr_assert_eq(msb_ratelimit_format_headers(&r, "name", small, sizeof(small), NULL, 0),
                 MSB_ETOOBIG);
    cr_assert_str_eq(small, "");
    cr_assert_eq(msb_ratelimit_format_headers(&r, "name", NULL, 0, small, sizeof(small)),
                 MSB_ETOOBIG);
}
