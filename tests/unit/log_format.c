/* The record format, parsed back with jansson field by field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "log/log_impl.h"
#include "msb/log.h"
#include "support/log_capture.h"

#define T0 (INT64_C(1795507200) * MSB_SEC + 123456789) /* 2026-11-24T08:00:00.123456789Z */

static capture_t cap;
static msb_clock_t *clk;

static void setup(void)
{
    capture_init(&cap);
    cr_assert_eq(msb_clock_manual_new(0, T0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
    capture_fini(&cap);
}

/* A logger on the capture sink and the manual clock; synchronous unless async is asked. */
static msb_log_t *logger(bool async)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.clock = clk;
    o.synchronous = !async;
    o.queue_size = (size_t)32 << 20;
    o.buffer_size = (size_t)1 << 20;
    return capture_logger(&cap, &o);
}

static const char *str_of(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

TestSuite(log_format, .init = setup, .fini = teardown);

Test(log_format, record_starts_with_its_four_keys)
{
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "hello", NULL, 0);
    msb_log_free(lg);
    cr_assert_eq(capture_count(&cap), 1);
    cr_assert_str_eq(cap.recs[0], "{\"ts\":\"2026-11-24T08:00:00.123456Z\",\"level\":\"info\","
                                  "\"msg\":\"hello\",\"service\":\"svc\"}");
    cr_assert_eq(cap.bad_tail, 0);
}

Test(log_format, every_level_name)
{
    msb_log_t *lg = logger(false);
    msb_log_set_level(lg, MSB_LOG_TRACE);
    for (int l = MSB_LOG_TRACE; l <= MSB_LOG_ERROR; l++) {
        msb_log_write(lg, (msb_log_level_t)l, "m", NULL, 0);
    }
    msb_log_write(lg, MSB_LOG_OFF, "not a record level", NULL, 0);
    msb_log_write(lg, (msb_log_level_t)-1, "nor this", NULL, 0);
    msb_log_free(lg);
    cr_assert_eq(capture_count(&cap), 5);
    for (int l = MSB_LOG_TRACE; l <= MSB_LOG_ERROR; l++) {
        json_t *j = capture_json(&cap, (size_t)l);
        cr_assert_str_eq(str_of(j, "level"), msb_log_level_name((msb_log_level_t)l));
        json_decref(j);
    }
}

Test(log_format, timestamps_match_gmtime)
{
    /* Every 10^9+7 ns step over three centuries, and the edges, against gmtime_r. */
    int64_t samples[2000];
    size_t n = 0;
    samples[n++] = 0;
    samples[n++] = -1;
    samples[n++] = INT64_MAX;
    samples[n++] = INT64_MIN;
    samples[n++] = INT64_C(951782400) * MSB_SEC; /* 2000-02-29 */
    for (int64_t t = INT64_C(-5000000000) * MSB_SEC; n < 2000; t += INT64_C(5003000000007777)) {
        samples[n++] = t;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t ns = samples[i];
        int64_t us = ns / 1000 - (ns % 1000 < 0);
        time_t secs = (time_t)(us / 1000000 - (us % 1000000 < 0));
        long frac = (long)(us - (int64_t)secs * 1000000);
        struct tm tm;
        cr_assert_not_null(gmtime_r(&secs, &tm));
        char want[128];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        char got[28];
        msb__log_format_ts(got, ns);
        got[27] = '\0';
        cr_assert_str_eq(got, want, "ns %lld", (long long)ns);
    }
}

Test(log_format, typed_fields_round_trip)
{
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "typed",
                  MSB_LOG_FIELDS(MSB_LOG_STR("s", "text"), MSB_LOG_I64("min", INT64_MIN),
                                 MSB_LOG_I64("max", INT64_MAX), MSB_LOG_I64("zero", 0),
                                 MSB_LOG_F64("d", 12.345), MSB_LOG_F64("whole", 42),
                                 MSB_LOG_F64("neg0", -0.0), MSB_LOG_BOOLEAN("t", 7),
                                 MSB_LOG_BOOLEAN("f", 0), MSB_LOG_STR("null", NULL),
                                 MSB_LOG_STRN("n3", "abcdef", 3)));
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_str_eq(str_of(j, "s"), "text");
    cr_assert_eq(json_integer_value(json_object_get(j, "min")), INT64_MIN);
    cr_assert_eq(json_integer_value(json_object_get(j, "max")), INT64_MAX);
    cr_assert(json_is_integer(json_object_get(j, "zero")));
    cr_assert(json_is_real(json_object_get(j, "d")));
    cr_assert_eq(json_real_value(json_object_get(j, "d")), 12.345);
    cr_assert(json_is_real(json_object_get(j, "whole")), "a double stays a JSON real");
    cr_assert_eq(json_real_value(json_object_get(j, "whole")), 42.0);
    cr_assert(signbit(json_real_value(json_object_get(j, "neg0"))));
    cr_assert(json_is_true(json_object_get(j, "t")));
    cr_assert(json_is_false(json_object_get(j, "f")));
    cr_assert(json_is_null(json_object_get(j, "null")));
    cr_assert_str_eq(str_of(j, "n3"), "abc");
    /* Fields keep their order after the record's own keys. */
    const char *order[] = {"ts", "level", "msg",  "service", "s", "min",  "max", "zero",
                           "d",  "whole", "neg0", "t",       "f", "null", "n3"};
    const char *p = cap.recs[0];
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        char key[32];
        snprintf(key, sizeof(key), "\"%s\":", order[i]);
        const char *at = strstr(p, key);
        cr_assert_not_null(at, "%s out of order in %s", key, cap.recs[0]);
        p = at;
    }
    json_decref(j);
}

Test(log_format, non_finite_doubles_are_strings)
{
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "nf",
                  MSB_LOG_FIELDS(MSB_LOG_F64("nan", NAN), MSB_LOG_F64("inf", INFINITY),
                                 MSB_LOG_F64("ninf", -INFINITY)));
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_str_eq(str_of(j, "nan"), "NaN");
    cr_assert_str_eq(str_of(j, "inf"), "+Inf");
    cr_assert_str_eq(str_of(j, "ninf"), "-Inf");
    json_decref(j);
}

Test(log_format, doubles_round_trip_exactly)
{
    /* Random bit patterns and decimal-looking values: the text parses back to the same double
     * and always reads as a real (a '.' or an exponent). */
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 2 == 0) {
            memcpy(&v, &x, sizeof(v));
        } else {
            v = (double)(int64_t)(x % 100000000) / pow(10, (double)(x >> 60));
        }
        if (!isfinite(v)) {
            continue;
        }
        char out[48];
        size_t n = msb__log_format_double(out, v);
        out[n] = '\0';
        cr_assert_eq(strtod(out, NULL), v, "%s for %.17g", out, v);
        cr_assert(strchr(out, '.') != NULL || strchr(out, 'e') != NULL, "%s", out);
    }
    char out[48];
    static const double edges[] = {5e-324,
                                   2.2250738585072009e-308,
                                   2.2250738585072014e-308,
                                   1.7976931348623157e308,
                                   9007199254740992.0,
                                   9007199254740993.0,
                                   1e21,
                                   1e22,
                                   1e23,
                                   123456789012345678.0,
                                   0.5,
                                   1.0,
                                   2.0,
                                   1024.0,
                                   1e-6,
                                   1e-7,
                                   0.30000000000000004,
                                   4.35,
                                   1.0 / 3.0};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        for (int s = 1; s >= -1; s -= 2) {
            double v = s * edges[i];
            size_t n = msb__log_format_double(out, v);
            out[n] = '\0';
            cr_assert_eq(strtod(out, NULL), v, "%s for %.17g", out, v);
            /* Never longer than the shortest %.{p}g that round-trips, plus Grisu2's one digit. */
            int p = 1;
            char g[48];
            for (; p < 17; p++) {
                snprintf(g, sizeof(g), "%.*g", p, v);
                if (strtod(g, NULL) == v) {
                    break;
                }
            }
            size_t digits = 0; /* significant: from the first non-zero digit */
            for (const char *c = out; *c != '\0' && *c != 'e'; c++) {
                digits += (*c >= '1' && *c <= '9') || (*c == '0' && digits > 0);
            }
            /* 1e23 sits exactly on its double's rounding boundary, which Grisu2 excludes. */
            if (edges[i] != 1e23) {
                cr_assert_leq(digits, (size_t)p + 2, "%s for %s", out, g); /* + the ".0" */
            }
        }
    }
    out[msb__log_format_double(out, 0.1)] = '\0';
    cr_assert_str_eq(out, "0.1");
    out[msb__log_format_double(out, 0.00125)] = '\0';
    cr_assert_str_eq(out, "0.00125");
    out[msb__log_format_double(out, -1e300)] = '\0';
    cr_assert_str_eq(out, "-1e+300");
}

Test(log_format, hostile_strings_are_escaped_and_come_back)
{
    char controls[32];
    for (int i = 0; i < 32; i++) {
        controls[i] = (char)i;
    }
    const char quotes[] = "say \"hi\" \\ back\\slash / \x7f";
    const char nul[] = "a\0b\0\0c";
    const char valid[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    const char bad[] = "x\xff y\xc0\xaf z\xed\xa0\x80 w\xe2\x82";
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "line\nbreak \"quoted\" \xfe",
                  MSB_LOG_FIELDS(MSB_LOG_STRN("controls", controls, 32),
                                 MSB_LOG_STR("quotes", quotes), MSB_LOG_STRN("nul", nul, 6),
                                 MSB_LOG_STR("valid", valid), MSB_LOG_STR("bad", bad),
                                 MSB_LOG_STR("key \"\n\xff", "v")));
    msb_log_free(lg);
    cr_assert_null(strchr(cap.recs[0], '\n'), "a raw newline inside a record");
    cr_assert(msb__utf8_valid(cap.recs[0], cap.lens[0]), "the record is not valid UTF-8");
    json_t *j = capture_json(&cap, 0);
    cr_assert_str_eq(str_of(j, "msg"), "line\nbreak \"quoted\" \xef\xbf\xbd");
    json_t *c = json_object_get(j, "controls");
    cr_assert_eq(json_string_length(c), 32);
    cr_assert_eq(memcmp(json_string_value(c), controls, 32), 0);
    cr_assert_str_eq(str_of(j, "quotes"), quotes);
    json_t *z = json_object_get(j, "nul");
    cr_assert_eq(json_string_length(z), 6);
    cr_assert_eq(memcmp(json_string_value(z), nul, 6), 0);
    cr_assert_str_eq(str_of(j, "valid"), valid);
    cr_assert_str_eq(str_of(j, "bad"), "x\xef\xbf\xbd y\xef\xbf\xbd\xef\xbf\xbd "
                                       "z\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd w\xef\xbf\xbd"
                                       "\xef\xbf\xbd");
    cr_assert_str_eq(str_of(j, "key \"\n\xef\xbf\xbd"), "v");
    json_decref(j);
}

static void big_value(bool async, unsigned char fill)
{
    size_t big = (size_t)1 << 20;
    char *v = malloc(big);
    for (size_t i = 0; i < big; i++) {
        v[i] = fill != 0 ? (char)fill : (char)(' ' + i % 90);
    }
    msb_log_t *lg = logger(async);
    msb_log_write(lg, MSB_LOG_INFO, "big", MSB_LOG_FIELDS(MSB_LOG_STRN("v", v, big)));
    msb_log_free(lg);
    json_t *j = capture_json(&cap, capture_count(&cap) - 1);
    json_t *s = json_object_get(j, "v");
    cr_assert_eq(json_string_length(s), big);
    cr_assert_eq(memcmp(json_string_value(s), v, big), 0);
    json_decref(j);
    free(v);
}

Test(log_format, one_mib_values)
{
    big_value(false, 0);
    big_value(true, 0);
    big_value(true, '\x01'); /* six bytes each once escaped: a 6 MiB record */
}

Test(log_format, bad_and_reserved_keys_are_skipped_and_counted)
{
    msb_log_t *lg = logger(false);
    msb_log_field_t bad_type = MSB_LOG_I64("bt", 1);
    bad_type.type = (msb_log_type_t)42;
    msb_log_write(lg, MSB_LOG_INFO, "keys",
                  MSB_LOG_FIELDS(MSB_LOG_I64(NULL, 1), MSB_LOG_I64("", 2), MSB_LOG_STR("ts", "x"),
                                 MSB_LOG_STR("level", "x"), MSB_LOG_STR("msg", "x"),
                                 MSB_LOG_STR("service", "x"), bad_type, MSB_LOG_I64("ok", 3)));
    msb_log_stats_t st = {.size = sizeof(st)};
    cr_assert_eq(msb_log_stats(lg, &st), MSB_OK);
    cr_assert_eq(st.bad_fields, 7);
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_eq(json_object_size(j), 5);
    cr_assert_str_eq(str_of(j, "msg"), "keys");
    cr_assert_eq(json_integer_value(json_object_get(j, "ok")), 3);
    json_decref(j);
}

Test(log_format, duplicate_keys_last_wins)
{
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "dup",
                  MSB_LOG_FIELDS(MSB_LOG_I64("a", 1), MSB_LOG_I64("b", 2), MSB_LOG_STR("a", "x"),
                                 MSB_LOG_I64("ab", 3), MSB_LOG_BOOLEAN("a", true)));
    msb_log_free(lg);
    cr_assert_str_eq(strstr(cap.recs[0], "\"b\""), "\"b\":2,\"ab\":3,\"a\":true}");
}

Test(log_format, fields_over_the_limit_are_counted)
{
    msb_log_field_t f[MSB_LOG_MAX_FIELDS + 3];
    char keys[MSB_LOG_MAX_FIELDS + 3][8];
    for (size_t i = 0; i < MSB_LOG_MAX_FIELDS + 3; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        f[i] = MSB_LOG_I64(keys[i], i);
    }
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "many", f, MSB_LOG_MAX_FIELDS + 3);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.bad_fields, 3);
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_eq(json_object_size(j), 4 + MSB_LOG_MAX_FIELDS);
    cr_assert_null(json_object_get(j, "k128"));
    json_decref(j);
}

Test(log_format, null_message_and_null_fields)
{
    msb_log_t *lg = logger(false);
    msb_log_write(lg, MSB_LOG_INFO, NULL, NULL, 5);
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_str_eq(str_of(j, "msg"), "");
    cr_assert_eq(json_object_size(j), 4);
    json_decref(j);
}

Test(log_format, service_defaults_to_program_name)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.synchronous = true;
    o.service = NULL;
    o.sink = MSB_LOG_SINK_CALLBACK;
    o.callback = capture_sink;
    o.callback_user = &cap;
    msb_log_t *lg;
    cr_assert_eq(msb_log_new(&o, &lg, NULL), MSB_OK);
    msb_log_write(lg, MSB_LOG_INFO, "x", NULL, 0);
    msb_log_free(lg);
    json_t *j = capture_json(&cap, 0);
    cr_assert_str_eq(str_of(j, "service"), program_invocation_short_name);
    json_decref(j);
}

Test(log_format, level_names_and_parse)
{
    msb_log_level_t l = MSB_LOG_OFF;
    cr_assert_eq(msb_log_level_parse("WARNING", &l), MSB_OK);
    cr_assert_eq(l, MSB_LOG_WARN);
    cr_assert_eq(msb_log_level_parse("Debug", &l), MSB_OK);
    cr_assert_eq(l, MSB_LOG_DEBUG);
    cr_assert_eq(msb_log_level_parse("off", &l), MSB_OK);
    cr_assert_eq(l, MSB_LOG_OFF);
    cr_assert_eq(msb_log_level_parse("verbose", &l), MSB_EINVAL);
    cr_assert_eq(msb_log_level_parse(NULL, &l), MSB_EINVAL);
    cr_assert_eq(l, MSB_LOG_OFF);
    cr_assert_str_eq(msb_log_level_name(MSB_LOG_ERROR), "error");
    cr_assert_str_eq(msb_log_level_name(MSB_LOG_OFF), "?");
    cr_assert_str_eq(msb_log_level_name((msb_log_level_t)99), "?");
}
