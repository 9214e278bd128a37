/* W3C Baggage: the specification's examples, the cases of its reference tests, the limits. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "msb/trace.h"

static msb_baggage_t *bag_of(const char *s)
{
    msb_baggage_t *b = NULL;
    cr_assert_eq(msb_baggage_new(&b), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_baggage_parse(b, s, strlen(s), &err), MSB_OK, "\"%s\": %s", s, err.message);
    return b;
}

static void expect_entry(const msb_baggage_t *b, size_t i, const char *k, const char *v,
                         const char *props)
{
    const char *key, *value, *p;
    cr_assert_eq(msb_baggage_member(b, i, &key, &value, &p), MSB_OK);
    cr_expect_str_eq(key, k);
    cr_expect_str_eq(value, v);
    cr_expect_str_eq(p, props);
}

static void expect_format(const msb_baggage_t *b, const char *want)
{
    char *s = NULL;
    size_t n = 0;
    cr_assert_eq(msb_baggage_format(b, &s, &n), MSB_OK);
    cr_expect_str_eq(s, want);
    cr_expect_eq(n, strlen(want));
    msb_trace_string_free(s);
}

Test(trace_baggage, spec_examples)
{
    msb_baggage_t *b = bag_of("key1=value1;property1;property2, key2 = value2, "
                              "key3=value3; propertyKey=propertyValue");
    cr_assert_eq(msb_baggage_count(b), 3);
    expect_entry(b, 0, "key1", "value1", "property1;property2");
    expect_entry(b, 1, "key2", "value2", "");
    expect_entry(b, 2, "key3", "value3", "propertyKey=propertyValue");
    expect_format(b, "key1=value1;property1;property2,key2=value2,key3=value3;propertyKey="
                     "propertyValue");
    msb_baggage_free(b);
    b = bag_of("userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false");
    const char *v = NULL;
    cr_assert_eq(msb_baggage_get(b, "userId", &v), MSB_OK);
    cr_expect_str_eq(v, "Am\xC3\xA9lie");
    cr_assert_eq(msb_baggage_get(b, "serverNode", &v), MSB_OK);
    cr_expect_str_eq(v, "DF 28");
    expect_format(b, "userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false");
    msb_baggage_free(b);
}

Test(trace_baggage, multiple_fields_and_ows)
{
    msb_baggage_t *b = bag_of("userId =   alice");
    cr_assert_eq(msb_baggage_parse(b, "serverNode = DF%2028, isProduction = false", 42, NULL),
                 MSB_OK);
    cr_assert_eq(msb_baggage_count(b), 3);
    expect_entry(b, 0, "userId", "alice", "");
    expect_entry(b, 2, "isProduction", "false", "");
    msb_baggage_free(b);
    b = bag_of("SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 "
               "\t ; \t ValueProp \t = \t PropVal");
    expect_entry(b, 0, "SomeKey", "SomeValue", "SomeProp");
    expect_entry(b, 1, "SomeKey2", "SomeValue2", "ValueProp=PropVal");
    msb_baggage_free(b);
}

Test(trace_baggage, values_may_contain_equals_and_decode_percent)
{
    msb_baggage_t *b = bag_of("SomeKey=SomeValue=equals");
    expect_entry(b, 0, "SomeKey", "SomeValue=equals", "");
    msb_baggage_free(b);
    /* urllib.parse.quote("\t \"';=asdf!@#$%^&*()") from the reference tests */
    b = bag_of("SomeKey=%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29");
    expect_entry(b, 0, "SomeKey", "\t \"';=asdf!@#$%^&*()", "");
    /* encoding is minimal: only what must be encoded, and '%' */
    expect_format(b, "SomeKey=%09%20%22'%3B=asdf!@#$%25^&*()");
    msb_baggage_free(b);
    b = bag_of("k=%ff%c3%28ok");
    expect_entry(b, 0, "k", "\xEF\xBF\xBD\xEF\xBF\xBD(ok", ""); /* not UTF-8: U+FFFD */
    msb_baggage_free(b);
    b = bag_of("k=");
    expect_entry(b, 0, "k", "", "");
    msb_baggage_free(b);
}

Test(trace_baggage, properties)
{
    msb_baggage_t *b = bag_of("SomeKey=SomeValue;SomeProp;SomeProp=PropValue;SomeProp="
                              "AnotherPropValue");
    expect_entry(b, 0, "SomeKey", "SomeValue",
                 "SomeProp;SomeProp=PropValue;SomeProp="
                 "AnotherPropValue");
    msb_baggage_free(b);
}

Test(trace_baggage, malformed_fields_are_rejected_whole)
{
    const char *bad[] = {"k",     "=v",        "k=v,",   ",k=v", "k=v,,k2=v", "k y=v",
                         "k=a b", "k=a\"b",    "k=a\\b", "k=%",  "k=%4",      "k=%zz",
                         "k=v;",  "k=v;p=a b", "k=v;=x", "k(=v", "k=\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_baggage_t *b = bag_of("keep=1");
        msb_error_t err = MSB_ERROR_INIT;
        cr_expect_eq(msb_baggage_parse(b, bad[i], strlen(bad[i]), &err), MSB_EPROTO, "\"%s\"",
                     bad[i]);
        cr_expect_neq(strstr(err.message, "list-member"), NULL, "%s", err.message);
        cr_expect_eq(msb_baggage_count(b), 1, "\"%s\" appended something", bad[i]);
        msb_baggage_free(b);
    }
    msb_baggage_t *b = bag_of("  ");
    cr_expect_eq(msb_baggage_count(b), 0);
    msb_baggage_free(b);
}

Test(trace_baggage, member_limit_drops_whole_members)
{
    char hdr[4096];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "%sk%d=v", i ? "," : "", i);
    }
    msb_baggage_t *b = bag_of(hdr);
    cr_expect_eq(msb_baggage_count(b), MSB_BAGGAGE_MAX_MEMBERS);
    cr_expect_eq(msb_baggage_dropped(b), 20);
    expect_entry(b, 179, "k179", "v", "");
    msb_baggage_free(b);
}

Test(trace_baggage, byte_limit_drops_whole_members)
{
    static char hdr[12000];
    char big[3001];
    memset(big, 'x', 3000);
    big[3000] = '\0';
    snprintf(hdr, sizeof(hdr), "a=%s,b=%s,c=%s,d=1", big, big, big);
    msb_baggage_t *b = bag_of(hdr);
    cr_expect_eq(msb_baggage_count(b), 3, "a and b fit in 8192 bytes, c does not, d does");
    const char *v;
    cr_expect_eq(msb_baggage_get(b, "c", &v), MSB_ENOTFOUND);
    cr_expect_eq(msb_baggage_get(b, "d", &v), MSB_OK);
    cr_expect_eq(msb_baggage_dropped(b), 1);
    char *s = NULL;
    size_t len = 0;
    cr_assert_eq(msb_baggage_format(b, &s, &len), MSB_OK);
    cr_expect_leq(len, MSB_BAGGAGE_MAX_BYTES);
    msb_trace_string_free(s);
    msb_error_t err = MSB_ERROR_INIT;
    cr_expect_eq(msb_baggage_set(b, "e", big, NULL, &err), MSB_ELIMIT);
    cr_expect_neq(strstr(err.message, "\"e\""), NULL, "%s", err.message);
    msb_baggage_free(b);
}

Test(trace_baggage, set_get_remove)
{
    msb_baggage_t *b = NULL;
    cr_assert_eq(msb_baggage_new(&b), MSB_OK);
    cr_assert_eq(msb_baggage_set(b, "user", "Amélie, 50%", "ttl=3", NULL), MSB_OK);
    cr_assert_eq(msb_baggage_set(b, "tenant", "acme", NULL, NULL), MSB_OK);
    expect_format(b, "user=Am%C3%A9lie%2C%2050%25;ttl=3,tenant=acme");
    cr_assert_eq(msb_baggage_set(b, "user", "bob", NULL, NULL), MSB_OK);
    expect_format(b, "tenant=acme,user=bob");
    msb_error_t err = MSB_ERROR_INIT;
    cr_expect_eq(msb_baggage_set(b, "bad key", "x", NULL, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "bad key"), NULL, "%s", err.message);
    cr_expect_eq(msb_baggage_set(b, "k", "x", "a b", &err), MSB_EINVAL);
    msb_baggage_remove(b, "tenant");
    expect_format(b, "user=bob");
    cr_expect_eq(msb_baggage_get(b, "tenant", NULL), MSB_ENOTFOUND);
    cr_expect_eq(msb_baggage_member(b, 5, NULL, NULL, NULL), MSB_ERANGE);
    /* round trip through parse */
    msb_baggage_t *c = bag_of("user=Am%C3%A9lie%2C%2050%25;ttl=3");
    const char *v;
    cr_assert_eq(msb_baggage_get(c, "user", &v), MSB_OK);
    cr_expect_str_eq(v, "Amélie, 50%");
    msb_baggage_free(c);
    msb_baggage_free(b);
    msb_baggage_free(NULL);
}
