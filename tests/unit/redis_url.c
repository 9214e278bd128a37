// msb-test: backends redis
/* The Redis URL parser shared by every Redis driver. */
#include <criterion/criterion.h>
#include <string.h>

#include "redis/redis.h"

static msb__redis_url_t parse_ok(const char *s)
{
    msb__redis_url_t u;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__redis_url_parse(s, &u, &err), MSB_OK, "%s: %s", s, err.message);
    return u;
}

static void parse_bad(const char *s, msb_status_t want, const char *says)
{
    msb__redis_url_t u;
    memset(&u, 0x5a, sizeof(u));
    msb__redis_url_t before = u;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__redis_url_parse(s, &u, &err), want, "%s", s);
    cr_assert_not_null(strstr(err.message, says), "%s: \"%s\" should say %s", s, err.message, says);
    cr_assert_null(strstr(err.message, "s3cret"), "the password never appears: %s", err.message);
    cr_assert_eq(memcmp(&u, &before, sizeof(u)), 0, "output untouched on failure");
}

Test(redis_url, defaults)
{
    msb__redis_url_t u = parse_ok("redis://localhost");
    cr_assert_str_eq(u.host, "localhost");
    cr_assert_eq(u.port, 6379);
    cr_assert_eq(u.db, 0);
    cr_assert_not(u.has_user);
    cr_assert_not(u.has_password);
    u = parse_ok("redis://127.0.0.1:56379/0");
    cr_assert_str_eq(u.host, "127.0.0.1");
    cr_assert_eq(u.port, 56379);
    u = parse_ok("REDIS://h/");
    cr_assert_eq(u.db, 0);
}

Test(redis_url, database_and_credentials)
{
    msb__redis_url_t u = parse_ok("redis://:s3cret@cache.internal:7000/5");
    cr_assert_not(u.has_user);
    cr_assert(u.has_password);
    cr_assert_str_eq(u.password, "s3cret");
    cr_assert_str_eq(u.host, "cache.internal");
    cr_assert_eq(u.port, 7000);
    cr_assert_eq(u.db, 5);
    u = parse_ok("redis://app:p%40ss%3Aw%2Fd@10.0.0.5/2147483647");
    cr_assert(u.has_user);
    cr_assert_str_eq(u.user, "app");
    cr_assert_str_eq(u.password, "p@ss:w/d");
    cr_assert_eq(u.db, 2147483647);
}

Test(redis_url, ipv6)
{
    msb__redis_url_t u = parse_ok("redis://[::1]:6380/1");
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 6380);
    char where[300];
    msb__redis_url_where(&u, where, sizeof(where));
    cr_assert_str_eq(where, "[::1]:6380");
    u = parse_ok("redis://[fe80::1:2]");
    cr_assert_str_eq(u.host, "fe80::1:2");
    cr_assert_eq(u.port, 6379);
    u = parse_ok("redis://h:1");
    msb__redis_url_where(&u, where, sizeof(where));
    cr_assert_str_eq(where, "h:1");
}

Test(redis_url, refused)
{
    parse_bad(NULL, MSB_EINVAL, "missing");
    parse_bad("localhost:6379", MSB_EINVAL, "expected redis://");
    parse_bad("http://h", MSB_EINVAL, "scheme");
    parse_bad("rediss://h", MSB_ENOTSUP, "TLS");
    parse_bad("redis://", MSB_EINVAL, "host is missing");
    parse_bad("redis://:s3cret@", MSB_EINVAL, "host is missing");
    parse_bad("redis://h:0", MSB_EINVAL, "port");
    parse_bad("redis://u:x@h:s3cret", MSB_EINVAL, "port");
    parse_bad("redis://h:65536", MSB_EINVAL, "port");
    parse_bad("redis://h:", MSB_EINVAL, "port");
    parse_bad("redis://h:+1", MSB_EINVAL, "port");
    parse_bad("redis://h:12x", MSB_EINVAL, "port");
    parse_bad("redis://h/-1", MSB_EINVAL, "database");
    parse_bad("redis://h/2147483648", MSB_EINVAL, "database");
    parse_bad("redis://h/db", MSB_EINVAL, "database");
    parse_bad("redis://h/1/2", MSB_EINVAL, "database");
    parse_bad("redis://h?timeout=1", MSB_EINVAL, "query");
    parse_bad("redis://h#x", MSB_EINVAL, "query");
    parse_bad("redis://ho st", MSB_EINVAL, "host");
    parse_bad("redis://[::1", MSB_EINVAL, "']'");
    parse_bad("redis://[zz]", MSB_EINVAL, "IPv6");
    parse_bad("redis://[]", MSB_EINVAL, "IPv6");
    parse_bad("redis://[::1]x", MSB_EINVAL, "after the host");
    parse_bad("redis://u:s3cret%zz@h", MSB_EINVAL, "escape");
    parse_bad("redis://u:s3cret%4@h", MSB_EINVAL, "escape");
    parse_bad("redis://u:s3cret%00@h", MSB_EINVAL, "%00");
    parse_bad("redis://u:s3 cret@h", MSB_EINVAL, "password");
    parse_bad("redis://us er:s3cret@h", MSB_EINVAL, "user name");
    parse_bad("redis://s3cret@h", MSB_EINVAL, "without a password");
    /* mistyped URLs with the password where it does not belong: never echoed */
    parse_bad("redis://h/app:s3cret@x", MSB_EINVAL, "database");
    parse_bad("app:s3cret@h://x", MSB_EINVAL, "scheme \"?\"");
}

Test(redis_url, long_parts)
{
    char url[1200];
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(url, sizeof(url), "redis://%s", big);
    parse_bad(url, MSB_EINVAL, "host is longer");
    snprintf(url, sizeof(url), "redis://:%s@h", big);
    parse_bad(url, MSB_EINVAL, "password is longer");
    snprintf(url, sizeof(url), "redis://%s:x@h", big);
    parse_bad(url, MSB_EINVAL, "user name is longer");
    big[255] = '\0';
    snprintf(url, sizeof(url), "redis://%s", big);
    cr_assert_eq(strlen(parse_ok(url).host), 255);
}
