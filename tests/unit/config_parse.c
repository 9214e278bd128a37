/* The value syntaxes: durations, sizes, booleans, integers, numbers, lists, and their formats. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "msb/msb.h"

static char why[CFG_WHY_MAX];

static msb_status_t dur(const char *s, int64_t *out)
{
    why[0] = '\0';
    return msb__config_parse_duration(s, strlen(s), out, why);
}

static msb_status_t size(const char *s, uint64_t *out)
{
    why[0] = '\0';
    return msb__config_parse_size(s, strlen(s), out, why);
}

#define DUR_OK(text, want)                                                                         \
    do {                                                                                           \
        int64_t v_ = -1;                                                                           \
        cr_assert_eq(dur(text, &v_), MSB_OK, "%s: %s", text, why);                                 \
        cr_assert_eq(v_, (int64_t)(want), "%s gave %lld", text, (long long)v_);                    \
    } while (0)

#define DUR_BAD(text, code, message)                                                               \
    do {                                                                                           \
        int64_t v_ = 0;                                                                            \
        cr_assert_eq(dur(text, &v_), code, "%s", text);                                            \
        cr_assert_str_eq(why, message);                                                            \
    } while (0)

#define SIZE_OK(text, want)                                                                        \
    do {                                                                                           \
        uint64_t v_ = 0;                                                                           \
        cr_assert_eq(size(text, &v_), MSB_OK, "%s: %s", text, why);                                \
        cr_assert_eq(v_, (uint64_t)(want), "%s gave %llu", text, (unsigned long long)v_);          \
    } while (0)

#define SIZE_BAD(text, code, message)                                                              \
    do {                                                                                           \
        uint64_t v_ = 0;                                                                           \
        cr_assert_eq(size(text, &v_), code, "%s", text);                                           \
        cr_assert_str_eq(why, message);                                                            \
    } while (0)

#define UNITS    "(units: d, h, m, s, ms, us, ns)"
#define EXPECTED "expected a duration such as 250ms, 2s or 1m30s"

Test(config_parse, durations)
{
    DUR_OK("250ms", 250 * MSB_MSEC);
    DUR_OK("2s", 2 * MSB_SEC);
    DUR_OK("1m", 60 * MSB_SEC);
    DUR_OK("1h", 3600 * MSB_SEC);
    DUR_OK("7d", 7 * 86400 * MSB_SEC);
    DUR_OK("1m30s", 90 * MSB_SEC);
    DUR_OK("1h2m3s4ms5us6ns", 3723 * MSB_SEC + 4 * MSB_MSEC + 5006);
    DUR_OK("1.5s", 1500 * MSB_MSEC);
    DUR_OK(".5s", 500 * MSB_MSEC);
    DUR_OK("1.s", MSB_SEC);
    DUR_OK("1.500s", 1500 * MSB_MSEC);
    DUR_OK("1.5h", 90 * 60 * MSB_SEC);
    DUR_OK("0", 0);
    DUR_OK("0s", 0);
    DUR_OK("000ms", 0);
    DUR_OK(" \t2s \n", 2 * MSB_SEC);
    DUR_OK("1us", 1000);
    DUR_OK("1\xC2\xB5s", 1000); /* micro sign */
    DUR_OK("1\xCE\xBCs", 1000); /* Greek mu */
    DUR_OK("0.000000001s", 1);
    DUR_OK("0.00000000100000000000000000000000000000000s", 1);
    DUR_OK("9223372036854775807ns", INT64_MAX);
    DUR_OK("106751d23h47m16s854ms775us807ns", INT64_MAX);
}

Test(config_parse, duration_errors)
{
    DUR_BAD("", MSB_EINVAL, "empty value; " EXPECTED);
    DUR_BAD("   ", MSB_EINVAL, "empty value; " EXPECTED);
    DUR_BAD("10", MSB_EINVAL, "missing unit in \"10\"; " EXPECTED " " UNITS);
    DUR_BAD("1m30", MSB_EINVAL, "missing unit in \"1m30\"; " EXPECTED " " UNITS);
    DUR_BAD("1.5", MSB_EINVAL, "missing unit in \"1.5\"; " EXPECTED " " UNITS);
    DUR_BAD("-1s", MSB_EINVAL, "negative durations are not allowed, got \"-1s\"");
    DUR_BAD("+1s", MSB_EINVAL, EXPECTED ", got \"+1s\"");
    DUR_BAD("2x", MSB_EINVAL, "unknown unit \"x\" in \"2x\" " UNITS);
    DUR_BAD("1S", MSB_EINVAL, "unknown unit \"S\" in \"1S\" " UNITS);
    DUR_BAD("1Ms", MSB_EINVAL, "unknown unit \"Ms\" in \"1Ms\" " UNITS);
    DUR_BAD("2sec", MSB_EINVAL, "unknown unit \"sec\" in \"2sec\" " UNITS);
    DUR_BAD("30s1m", MSB_EINVAL, "units must go from largest to smallest, each once, in \"30s1m\"");
    DUR_BAD("1s1s", MSB_EINVAL, "units must go from largest to smallest, each once, in \"1s1s\"");
    DUR_BAD("1us1\xC2\xB5s", MSB_EINVAL,
            "units must go from largest to smallest, each once, in \"1us1\xC2\xB5s\"");
    DUR_BAD("1m 30s", MSB_EINVAL, EXPECTED ", got \"1m 30s\"");
    DUR_BAD("s", MSB_EINVAL, EXPECTED ", got \"s\"");
    DUR_BAD(".s", MSB_EINVAL, EXPECTED ", got \".s\"");
    DUR_BAD("0.5ns", MSB_EINVAL, "\"0.5ns\" is not a whole number of nanoseconds");
    DUR_BAD("0.0000000015s", MSB_EINVAL, "\"0.0000000015s\" is not a whole number of nanoseconds");
    DUR_BAD("9223372036854775808ns", MSB_ERANGE,
            "\"9223372036854775808ns\" is too long (the longest is "
            "106751d23h47m16s854ms775us807ns)");
    DUR_BAD("106752d", MSB_ERANGE,
            "\"106752d\" is too long (the longest is 106751d23h47m16s854ms775us807ns)");
    DUR_BAD("106751d24h", MSB_ERANGE,
            "\"106751d24h\" is too long (the longest is 106751d23h47m16s854ms775us807ns)");
    DUR_BAD("99999999999999999999999s", MSB_ERANGE,
            "\"99999999999999999999999s\" is too long (the longest is "
            "106751d23h47m16s854ms775us807ns)");
}

Test(config_parse, duration_format_round_trips)
{
    char buf[64];
    msb__config_format_duration(0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0s");
    msb__config_format_duration(90 * MSB_SEC, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1m30s");
    msb__config_format_duration(1500 * MSB_MSEC, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1s500ms");
    msb__config_format_duration(1, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1ns");
    msb__config_format_duration(INT64_MAX, buf, sizeof(buf));
    cr_assert_str_eq(buf, "106751d23h47m16s854ms775us807ns");
    const int64_t samples[] = {1,
                               999,
                               1000,
                               1001,
                               MSB_MSEC,
                               59 * MSB_SEC,
                               86400 * MSB_SEC + 1,
                               INT64_MAX - 1,
                               123456789012345};
    for (size_t i = 0; i < MSB_ARRAY_LEN(samples); i++) {
        int64_t back = -1;
        msb__config_format_duration(samples[i], buf, sizeof(buf));
        cr_assert_eq(dur(buf, &back), MSB_OK, "%s", buf);
        cr_assert_eq(back, samples[i]);
    }
    /* a small buffer truncates whole components, always terminated */
    char small[6];
    msb__config_format_duration(90 * MSB_SEC + 1, small, sizeof(small));
    cr_assert_str_eq(small, "1m30s");
}

Test(config_parse, sizes)
{
    SIZE_OK("512", 512);
    SIZE_OK("0", 0);
    SIZE_OK("1B", 1);
    SIZE_OK("1b", 1);
    SIZE_OK("64KiB", 65536);
    SIZE_OK("64kib", 65536);
    SIZE_OK("64KIB", 65536);
    SIZE_OK("64Ki", 65536);
    SIZE_OK("1MiB", 1 << 20);
    SIZE_OK("1GiB", 1ull << 30);
    SIZE_OK("1TiB", 1ull << 40);
    SIZE_OK("1PiB", 1ull << 50);
    SIZE_OK("15EiB", 15ull << 60);
    SIZE_OK("1kB", 1000);
    SIZE_OK("1KB", 1000);
    SIZE_OK("1k", 1000);
    SIZE_OK("1MB", 1000000);
    SIZE_OK("1mb", 1000000);
    SIZE_OK("1GB", 1000000000);
    SIZE_OK("2T", 2000000000000ull);
    SIZE_OK("1.5KiB", 1536);
    SIZE_OK("0.5MB", 500000);
    SIZE_OK("0.0000019073486328125EiB", 1ull << 41);
    SIZE_OK(" 10MiB\n", 10 << 20);
    SIZE_OK("18446744073709551615", UINT64_MAX);
}

#define SIZE_UNITS                                                                                 \
    "(units: B, kB, MB, GB, TB, PB, EB (powers of 1000), KiB, MiB, GiB, TiB, PiB, EiB)"

Test(config_parse, size_errors)
{
    SIZE_BAD("", MSB_EINVAL, "empty value; expected a size such as 512, 64KiB, 1MiB or 1GB");
    SIZE_BAD("-1", MSB_EINVAL, "negative sizes are not allowed, got \"-1\"");
    SIZE_BAD("KiB", MSB_EINVAL, "expected a size such as 512, 64KiB, 1MiB or 1GB, got \"KiB\"");
    SIZE_BAD("1XB", MSB_EINVAL, "unknown unit \"XB\" in \"1XB\" " SIZE_UNITS);
    SIZE_BAD("1 KiB", MSB_EINVAL, "unknown unit \" KiB\" in \"1 KiB\" " SIZE_UNITS);
    SIZE_BAD("1KiB512B", MSB_EINVAL, "unknown unit \"KiB512B\" in \"1KiB512B\" " SIZE_UNITS);
    SIZE_BAD("1.1B", MSB_EINVAL, "\"1.1B\" is not a whole number of bytes");
    SIZE_BAD("0.3KiB", MSB_EINVAL, "\"0.3KiB\" is not a whole number of bytes");
    SIZE_BAD("16EiB", MSB_ERANGE, "\"16EiB\" is too large (the largest is 16EiB - 1 byte)");
    SIZE_BAD("18446744073709551616", MSB_ERANGE,
             "\"18446744073709551616\" is too large (the largest is 16EiB - 1 byte)");
    SIZE_BAD("18446744073709551615.5", MSB_EINVAL,
             "\"18446744073709551615.5\" is not a whole number of bytes");
}

Test(config_parse, size_format_round_trips)
{
    char buf[64];
    const struct {
        uint64_t v;
        const char *text;
    } cases[] = {{0, "0"},
                 {512, "512"},
                 {1000, "1kB"},
                 {1024, "1KiB"},
                 {65536, "64KiB"},
                 {1536, "1536"},
                 {1 << 20, "1MiB"},
                 {1000000000, "1GB"},
                 {1ull << 60, "1EiB"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < MSB_ARRAY_LEN(cases); i++) {
        msb__config_format_size(cases[i].v, buf, sizeof(buf));
        cr_assert_str_eq(buf, cases[i].text);
        uint64_t back = 1;
        cr_assert_eq(size(buf, &back), MSB_OK);
        cr_assert_eq(back, cases[i].v);
    }
}

Test(config_parse, bools)
{
    const char *yes[] = {"true", "TRUE", "True", "yes", "Yes", "on", "ON", "1", " true\n"};
    const char *no[] = {"false", "FALSE", "no", "NO", "off", "Off", "0", "\tfalse "};
    bool b;
    for (size_t i = 0; i < MSB_ARRAY_LEN(yes); i++) {
        b = false;
        cr_assert_eq(msb__config_parse_bool(yes[i], strlen(yes[i]), &b, why), MSB_OK, "%s", yes[i]);
        cr_assert(b, "%s", yes[i]);
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(no); i++) {
        b = true;
        cr_assert_eq(msb__config_parse_bool(no[i], strlen(no[i]), &b, why), MSB_OK, "%s", no[i]);
        cr_assert_not(b, "%s", no[i]);
    }
    const char *bad[] = {"", "2", "truee", "y", "enable", "t"};
    for (size_t i = 0; i < MSB_ARRAY_LEN(bad); i++) {
        cr_assert_eq(msb__config_parse_bool(bad[i], strlen(bad[i]), &b, why), MSB_EINVAL, "%s",
                     bad[i]);
    }
    msb__config_parse_bool("maybe", 5, &b, why);
    cr_assert_str_eq(why, "expected true or false (or yes/no, on/off, 1/0), got \"maybe\"");
}

Test(config_parse, integers)
{
    int64_t v;
    cr_assert_eq(msb__config_parse_int("42", 2, &v, why), MSB_OK);
    cr_assert_eq(v, 42);
    cr_assert_eq(msb__config_parse_int("-7", 2, &v, why), MSB_OK);
    cr_assert_eq(v, -7);
    cr_assert_eq(msb__config_parse_int(" +5 ", 4, &v, why), MSB_OK);
    cr_assert_eq(v, 5);
    cr_assert_eq(msb__config_parse_int("9223372036854775807", 19, &v, why), MSB_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(msb__config_parse_int("-9223372036854775808", 20, &v, why), MSB_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(msb__config_parse_int("9223372036854775808", 19, &v, why), MSB_ERANGE);
    cr_assert_str_eq(why, "\"9223372036854775808\" is outside the 64-bit integer range");
    cr_assert_eq(msb__config_parse_int("12x", 3, &v, why), MSB_EINVAL);
    cr_assert_str_eq(why, "expected an integer, got \"12x\"");
    cr_assert_eq(msb__config_parse_int("", 0, &v, why), MSB_EINVAL);
    cr_assert_str_eq(why, "empty value; expected an integer");
    cr_assert_eq(msb__config_parse_int("1e3", 3, &v, why), MSB_EINVAL);
    cr_assert_eq(msb__config_parse_int("0x10", 4, &v, why), MSB_EINVAL);
    cr_assert_eq(msb__config_parse_int("1 000", 5, &v, why), MSB_EINVAL);
}

Test(config_parse, doubles)
{
    double d;
    cr_assert_eq(msb__config_parse_double("0.25", 4, &d, why), MSB_OK);
    cr_assert_float_eq(d, 0.25, 1e-12);
    cr_assert_eq(msb__config_parse_double("1e-3", 4, &d, why), MSB_OK);
    cr_assert_float_eq(d, 0.001, 1e-12);
    cr_assert_eq(msb__config_parse_double(" -2 ", 4, &d, why), MSB_OK);
    cr_assert_float_eq(d, -2.0, 1e-12);
    cr_assert_eq(msb__config_parse_double("nan", 3, &d, why), MSB_EINVAL);
    cr_assert_str_eq(why, "expected a number, got \"nan\"");
    cr_assert_eq(msb__config_parse_double("inf", 3, &d, why), MSB_EINVAL);
    cr_assert_eq(msb__config_parse_double("1e400", 5, &d, why), MSB_ERANGE);
    cr_assert_str_eq(why, "\"1e400\" is outside the range of a double");
    cr_assert_eq(msb__config_parse_double("", 0, &d, why), MSB_EINVAL);
    cr_assert_str_eq(why, "empty value; expected a number");
}

static const msb_config_list_t *list_of(const char *text, cfg_blob_t **blob, msb_status_t *rc)
{
    *blob = NULL;
    *rc = msb__config_parse_list(text, strlen(text), blob, why);
    return *rc == MSB_OK ? (const msb_config_list_t *)(void *)(*blob)->data : NULL;
}

Test(config_parse, lists)
{
    cfg_blob_t *b;
    msb_status_t rc;
    const msb_config_list_t *l = list_of("a,b,c", &b, &rc);
    cr_assert_eq(rc, MSB_OK);
    cr_assert_eq(l->count, 3);
    cr_assert_str_eq(l->items[0], "a");
    cr_assert_str_eq(l->items[2], "c");
    cr_assert_null(l->items[3]);
    msb__free(b);

    l = list_of(" a , b\t,c ", &b, &rc);
    cr_assert_eq(l->count, 3);
    cr_assert_str_eq(l->items[0], "a");
    cr_assert_str_eq(l->items[1], "b");
    msb__free(b);

    l = list_of("x\\,y,z\\\\", &b, &rc);
    cr_assert_eq(rc, MSB_OK, "%s", why);
    cr_assert_eq(l->count, 2);
    cr_assert_str_eq(l->items[0], "x,y");
    cr_assert_str_eq(l->items[1], "z\\");
    msb__free(b);

    l = list_of("", &b, &rc);
    cr_assert_eq(rc, MSB_OK);
    cr_assert_eq(l->count, 0);
    cr_assert_null(l->items[0]);
    msb__free(b);

    l = list_of("  ", &b, &rc);
    cr_assert_eq(l->count, 0);
    msb__free(b);

    l = list_of("one item with spaces", &b, &rc);
    cr_assert_eq(l->count, 1);
    cr_assert_str_eq(l->items[0], "one item with spaces");
    msb__free(b);
}

Test(config_parse, list_errors)
{
    cfg_blob_t *b;
    msb_status_t rc;
    list_of("a,,b", &b, &rc);
    cr_assert_eq(rc, MSB_EINVAL);
    cr_assert_str_eq(why, "empty item 2 in a comma-separated list");
    list_of("a,", &b, &rc);
    cr_assert_str_eq(why, "empty item 2 in a comma-separated list");
    list_of(",a", &b, &rc);
    cr_assert_str_eq(why, "empty item 1 in a comma-separated list");
    list_of("a, ,b", &b, &rc);
    cr_assert_str_eq(why, "empty item 2 in a comma-separated list");
    list_of("a\\x", &b, &rc);
    cr_assert_eq(rc, MSB_EINVAL);
    cr_assert_str_eq(why, "a backslash in a list must be followed by , or \\ (write \\, for a "
                          "comma inside an item)");
    list_of("a\\", &b, &rc);
    cr_assert_eq(rc, MSB_EINVAL);
}

Test(config_parse, quote_escapes_and_shortens)
{
    char q[160];
    msb__config_quote("a\"b\\c\nd", 7, q, sizeof(q));
    cr_assert_str_eq(q, "\"a\\\"b\\\\c\\x0Ad\"");
    msb__config_quote("\xFF\xC3\xA9", 3, q, sizeof(q));
    cr_assert_str_eq(q, "\"\\xFF\xC3\xA9\"");
    char long_text[200];
    memset(long_text, 'x', sizeof(long_text));
    msb__config_quote(long_text, sizeof(long_text), q, sizeof(q));
    cr_assert_eq(strlen(q), 48 + 5);
    cr_assert_eq(strcmp(q + 49, "...\""), 0);
    msb__config_quote("abc", 3, q, 4); /* too small to say anything */
    cr_assert_str_eq(q, "");
}

Test(config_parse, public_parsers)
{
    int64_t ns = 0;
    uint64_t bytes = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_parse_duration("1m30s", &ns, &err), MSB_OK);
    cr_assert_eq(ns, 90 * MSB_SEC);
    cr_assert_eq(err.code, MSB_OK, "err untouched on success");
    cr_assert_eq(msb_config_parse_size("1MiB", &bytes, NULL), MSB_OK);
    cr_assert_eq(bytes, 1 << 20);
    cr_assert_eq(msb_config_parse_duration("1x", &ns, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "unknown unit \"x\" in \"1x\" " UNITS);
    cr_assert_eq(msb_config_parse_size("16EiB", &bytes, &err), MSB_ERANGE);
    cr_assert_eq(err.code, MSB_ERANGE);
    cr_assert_eq(msb_config_parse_duration(NULL, &ns, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: text or out_ns is NULL");
    cr_assert_eq(msb_config_parse_size("1", NULL, &err), MSB_EINVAL);
}
