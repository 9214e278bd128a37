/* Sampling on the manual clock, and the level filter changed at run time. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "msb/log.h"
#include "support/log_capture.h"

static capture_t cap;
static msb_clock_t *clk;

static void setup(void)
{
    capture_init(&cap);
    cr_assert_eq(msb_clock_manual_new(0, INT64_C(1795507200) * MSB_SEC, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
    capture_fini(&cap);
}

TestSuite(log_sampling, .init = setup, .fini = teardown);

static msb_log_t *sampled(uint32_t first, uint32_t thereafter)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.synchronous = true;
    o.clock = clk;
    o.sample_first = first;
    o.sample_thereafter = thereafter;
    o.sample_tick_ms = 1000;
    return capture_logger(&cap, &o);
}

/* Log `n` records of msg numbered from seq0; return the numbers kept, as "1,2,3". */
static void log_n(msb_log_t *lg, msb_log_level_t level, const char *msg, int seq0, int n)
{
    for (int i = 0; i < n; i++) {
        msb_log_write(lg, level, msg, MSB_LOG_FIELDS(MSB_LOG_I64("seq", seq0 + i)));
    }
}

static void kept(const char *msg, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < capture_count(&cap); i++) {
        json_t *j = capture_json(&cap, i);
        if (strcmp(json_string_value(json_object_get(j, "msg")), msg) == 0) {
            char num[24];
            snprintf(num, sizeof(num), "%s%lld", out[0] ? "," : "",
                     (long long)json_integer_value(json_object_get(j, "seq")));
            strncat(out, num, size - strlen(out) - 1);
        }
        json_decref(j);
    }
}

Test(log_sampling, first_n_then_one_in_m_per_message_per_tick)
{
    msb_log_t *lg = sampled(3, 5);
    log_n(lg, MSB_LOG_INFO, "busy", 1, 20);
    log_n(lg, MSB_LOG_INFO, "other", 1, 4);
    char got[256];
    kept("busy", got, sizeof(got));
    cr_assert_str_eq(got, "1,2,3,8,13,18");
    kept("other", got, sizeof(got));
    cr_assert_str_eq(got, "1,2,3");
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.sampled, 14 + 1);
    cr_assert_eq(st.written, 6 + 3);

    msb_clock_manual_advance(clk, 999 * (uint64_t)MSB_MSEC); /* same tick */
    log_n(lg, MSB_LOG_INFO, "busy", 21, 3);
    kept("busy", got, sizeof(got));
    cr_assert_str_eq(got, "1,2,3,8,13,18,23");

    msb_clock_manual_advance(clk, 1 * (uint64_t)MSB_MSEC); /* next tick: counting restarts */
    log_n(lg, MSB_LOG_INFO, "busy", 100, 4);
    kept("busy", got, sizeof(got));
    cr_assert_str_eq(got, "1,2,3,8,13,18,23,100,101,102");
    msb_log_free(lg);
}

Test(log_sampling, levels_are_counted_apart)
{
    msb_log_t *lg = sampled(1, 0); /* thereafter 0: nothing after the first */
    log_n(lg, MSB_LOG_INFO, "m", 1, 3);
    log_n(lg, MSB_LOG_ERROR, "m", 10, 3);
    char got[64];
    kept("m", got, sizeof(got));
    cr_assert_str_eq(got, "1,10");
    msb_log_free(lg);
}

Test(log_sampling, filtered_records_are_not_sampled)
{
    msb_log_t *lg = sampled(2, 0);
    log_n(lg, MSB_LOG_DEBUG, "m", 1, 5); /* below the level: never reach the sampler */
    log_n(lg, MSB_LOG_INFO, "m", 10, 3);
    char got[64];
    kept("m", got, sizeof(got));
    cr_assert_str_eq(got, "10,11");
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.sampled, 1);
    msb_log_free(lg);
}

Test(log_sampling, level_changes_at_run_time)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.level = MSB_LOG_WARN;
    msb_log_t *lg = capture_logger(&cap, &o);
    cr_assert_eq(msb_log_get_level(lg), MSB_LOG_WARN);
    cr_assert(!msb_log_enabled(lg, MSB_LOG_INFO));
    cr_assert(msb_log_enabled(lg, MSB_LOG_ERROR));
    log_n(lg, MSB_LOG_INFO, "m", 1, 1);
    log_n(lg, MSB_LOG_WARN, "m", 2, 1);
    cr_assert_eq(msb_log_set_level(lg, MSB_LOG_DEBUG), MSB_OK);
    cr_assert(msb_log_enabled(lg, MSB_LOG_DEBUG));
    cr_assert(!msb_log_enabled(lg, MSB_LOG_TRACE));
    log_n(lg, MSB_LOG_DEBUG, "m", 3, 1);
    log_n(lg, MSB_LOG_TRACE, "m", 4, 1);
    cr_assert_eq(msb_log_set_level(lg, MSB_LOG_OFF), MSB_OK);
    cr_assert(!msb_log_enabled(lg, MSB_LOG_ERROR));
    log_n(lg, MSB_LOG_ERROR, "m", 5, 1);
    cr_assert_eq(msb_log_set_level(lg, (msb_log_level_t)6), MSB_EINVAL);
    cr_assert_eq(msb_log_set_level(lg, (msb_log_level_t)-1), MSB_EINVAL);
    cr_assert_eq(msb_log_get_level(lg), MSB_LOG_OFF);
    cr_assert(!msb_log_enabled(lg, MSB_LOG_OFF));
    cr_assert_eq(msb_log_set_level(lg, MSB_LOG_TRACE), MSB_OK);
    log_n(lg, MSB_LOG_TRACE, "m", 6, 1);
    msb_log_flush(lg, -1);
    char got[64];
    kept("m", got, sizeof(got));
    cr_assert_str_eq(got, "2,3,6");
    msb_log_free(lg);
}
