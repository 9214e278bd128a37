#include <criterion/criterion.h>
#include <jansson.h>
#include <locale.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/utf8.h"

static char *json_of(const char *s, size_t n)
{
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_put_json_str(&b, s, n);
    cr_assert_eq(msb__buf_status(&b), MSB_OK);
    return msb__buf_steal(&b, NULL);
}

/* Decode what we encoded with jansson and return the string (new, free with free()). */
static char *roundtrip(const char *s, size_t n, size_t *out_len)
{
    char *enc = json_of(s, n);
    json_error_t jerr;
    json_t *j = json_loads(enc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(j, "jansson rejected %s: %s", enc, jerr.text);
    *out_len = json_string_length(j);
    char *copy = malloc(*out_len + 1);
    memcpy(copy, json_string_value(j), *out_len + 1);
    json_decref(j);
    msb__free(enc);
    return copy;
}

Test(core_buf, escapes_quotes_backslashes_and_controls)
{
    char *e = json_of("a\"b\\c\n\t\x01\x1f", 9);
    cr_assert_str_eq(e, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\"");
    msb__free(e);
}

Test(core_buf, embedded_nul_is_escaped)
{
    size_t n;
    char *r = roundtrip("a\0b", 3, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(r, "a\0b", 3), 0);
    free(r);
}

Test(core_buf, valid_utf8_passes_through)
{
    const char *s = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    char *e = json_of(s, strlen(s));
    cr_assert_eq(memcmp(e + 1, s, strlen(s)), 0);
    msb__free(e);
}

Test(core_buf, invalid_utf8_is_replaced_never_passed)
{
    static const char *bad[] = {
        "\xff",             /* never valid */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe2\x82",         /* truncated */
        "\x80",             /* lone continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;
        char *r = roundtrip(bad[i], strlen(bad[i]), &n);
        cr_assert(msb__utf8_valid(r, n), "case %zu", i);
        cr_assert_not_null(strstr(r, "\xef\xbf\xbd"), "case %zu has no U+FFFD", i);
        free(r);
    }
}

Test(core_buf, large_value_round_trips)
{
    size_t big = 1 << 20;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++) {
        s[i] = (char)(' ' + i % 90);
    }
    size_t n;
    char *r = roundtrip(s, big, &n);
    cr_assert_eq(n, big);
    cr_assert_eq(memcmp(r, s, big), 0);
    free(r);
    free(s);
}

Test(core_buf, numbers)
{
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_put_i64(&b, INT64_MIN);
    msb__buf_putc(&b, ' ');
    msb__buf_put_u64(&b, UINT64_MAX);
    msb__buf_putc(&b, ' ');
    msb__buf_put_double_json(&b, 0.1);
    msb__buf_putc(&b, ' ');
    msb__buf_put_double_json(&b, 1.0 / 3.0);
    msb__buf_putc(&b, ' ');
    msb__buf_put_double_json(&b, 0.0 / 0.0);
    cr_assert_str_eq(b.data, "-9223372036854775808 18446744073709551615 0.1 "
                             "0.33333333333333331 null");
    msb__buf_free(&b);
}

Test(core_buf, doubles_ignore_the_host_locale)
{
    /* A program that sets a comma-decimal locale must still get JSON numbers. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL && setlocale(LC_NUMERIC, "C.UTF-8") == NULL) {
        cr_log_info("no alternative locale installed; checking the C locale only");
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_put_double_json(&b, 2.5);
    cr_assert_str_eq(b.data, "2.5");
    msb__buf_free(&b);
    setlocale(LC_NUMERIC, "C");
}

Test(core_buf, max_bound_fails_with_etoobig_and_sticks)
{
    msb__buf_t b;
    msb__buf_init(&b, 8);
    msb__buf_puts(&b, "12345678");
    cr_assert_eq(msb__buf_status(&b), MSB_OK);
    msb__buf_puts(&b, "9");
    cr_assert_eq(msb__buf_status(&b), MSB_ETOOBIG);
    msb__buf_puts(&b, "");
    cr_assert_eq(b.len, 8);
    msb__buf_reset(&b);
    cr_assert_eq(msb__buf_status(&b), MSB_OK);
    msb__buf_free(&b);
}

Test(core_buf, printf_long_output)
{
    msb__buf_t b = MSB__BUF_INIT;
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    msb__buf_printf(&b, "<%s>%d", big, 42);
    cr_assert_eq(b.len, strlen(big) + 4);
    cr_assert_eq(b.data[0], '<');
    cr_assert_str_eq(b.data + b.len - 3, ">42");
    msb__buf_free(&b);
}
