#include <criterion/criterion.h>
#include <string.h>

#include "core/str.h"
#include "core/utf8.h"

#define PARSE_I64(s, out) msb__parse_i64((s), strlen(s), (out))
#define PARSE_U64(s, out) msb__parse_u64((s), strlen(s), (out))

Test(core_str, parse_i64_accepts_whole_numbers_only)
{
    int64_t v;
    cr_assert_eq(PARSE_I64("0", &v), MSB_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(PARSE_I64("-42", &v), MSB_OK);
    cr_assert_eq(v, -42);
    cr_assert_eq(PARSE_I64("+7", &v), MSB_OK);
    cr_assert_eq(v, 7);
    cr_assert_eq(PARSE_I64("9223372036854775807", &v), MSB_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(PARSE_I64("-9223372036854775808", &v), MSB_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(PARSE_I64("9223372036854775808", &v), MSB_ERANGE);
    cr_assert_eq(PARSE_I64("-9223372036854775809", &v), MSB_ERANGE);
    const char *bad[] = {"", "-", "+", " 1", "1 ", "1a", "0x10", "1.0", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(PARSE_I64(bad[i], &v), MSB_EINVAL, "\"%s\"", bad[i]);
    }
}

Test(core_str, parse_u64_bounds)
{
    uint64_t v;
    cr_assert_eq(PARSE_U64("18446744073709551615", &v), MSB_OK);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(PARSE_U64("18446744073709551616", &v), MSB_ERANGE);
    cr_assert_eq(PARSE_U64("-1", &v), MSB_EINVAL);
}

Test(core_str, parse_double)
{
    double d;
    cr_assert_eq(msb__parse_double("2.5e3", 5, &d), MSB_OK);
    cr_assert_float_eq(d, 2500.0, 1e-9);
    cr_assert_eq(msb__parse_double("nan", 3, &d), MSB_EINVAL);
    cr_assert_eq(msb__parse_double("inf", 3, &d), MSB_EINVAL);
    cr_assert_eq(msb__parse_double("1e999", 5, &d), MSB_ERANGE);
    cr_assert_eq(msb__parse_double("1.5x", 4, &d), MSB_EINVAL);
    cr_assert_eq(msb__parse_double("", 0, &d), MSB_EINVAL);
}

Test(core_str, strlcpy_truncates_and_terminates)
{
    char buf[4];
    cr_assert_eq(msb__strlcpy(buf, "hello", sizeof(buf)), 5);
    cr_assert_str_eq(buf, "hel");
    cr_assert_eq(msb__strlcpy(buf, "", sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
}

Test(core_str, ascii_ieq)
{
    cr_assert(msb__ascii_ieq("Content-Length", 14, "content-length"));
    cr_assert_not(msb__ascii_ieq("Content-Lengt", 13, "content-length"));
    cr_assert_not(msb__ascii_ieq("Content-Lengthx", 15, "content-length"));
}

Test(core_str, utf8_validation)
{
    cr_assert(msb__utf8_valid("", 0));
    cr_assert(msb__utf8_valid("\xf0\x9f\x98\x80", 4));
    cr_assert_not(msb__utf8_valid("\xf0\x9f\x98", 3));
    cr_assert_not(msb__utf8_valid("\xe0\x80\x80", 3)); /* overlong */
    cr_assert_eq(msb__utf8_valid_prefix((const unsigned char *)"ab\xff", 3), 2);
}
