/* W3C Trace Context: traceparent and tracestate against the specification's examples and the
 * cases of the W3C trace-context test suite (test/test.py), reconstructed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "msb/trace.h"

#define TID "12345678901234567890123456789012"
#define PID "1234567890123456"

static msb_status_t tp(const char *s, msb_trace_ctx_t *ctx)
{
    return msb_traceparent_parse(s, strlen(s), ctx, NULL);
}

static void expect_invalid(const char *s)
{
    msb_trace_ctx_t ctx = MSB_TRACE_CTX_INIT;
    msb_error_t err = MSB_ERROR_INIT;
    cr_expect_eq(msb_traceparent_parse(s, strlen(s), &ctx, &err), MSB_EPROTO, "accepted \"%s\"", s);
    cr_expect_eq(err.code, MSB_EPROTO);
    cr_expect_eq(strncmp(err.message, "traceparent: ", 13), 0, "%s", err.message);
    cr_expect(!msb_trace_ctx_valid(&ctx), "\"%s\" changed the context", s);
}

static void expect_ids(const char *s, uint8_t flags)
{
    msb_trace_ctx_t ctx = MSB_TRACE_CTX_INIT;
    cr_assert_eq(tp(s, &ctx), MSB_OK, "rejected \"%s\"", s);
    char t[33], p[17];
    msb_trace_ctx_trace_id_hex(&ctx, t);
    msb_trace_ctx_span_id_hex(&ctx, p);
    cr_expect_str_eq(t, TID);
    cr_expect_str_eq(p, PID);
    cr_expect_eq(ctx.flags, flags, "\"%s\": flags %02x", s, ctx.flags);
    cr_expect(ctx.remote);
}

Test(trace_w3c, spec_examples)
{
    msb_trace_ctx_t ctx = MSB_TRACE_CTX_INIT;
    cr_assert_eq(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &ctx), MSB_OK);
    cr_expect(msb_trace_ctx_sampled(&ctx));
    char out[MSB_TRACEPARENT_LEN + 1];
    cr_assert_eq(msb_traceparent_format(&ctx, out), MSB_OK);
    cr_expect_str_eq(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    cr_assert_eq(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &ctx), MSB_OK);
    cr_expect(!msb_trace_ctx_sampled(&ctx));
}

Test(trace_w3c, version_00_is_exact)
{
    expect_ids("00-" TID "-" PID "-01", 1);
    expect_invalid("00-" TID "-" PID "-01.");
    expect_invalid("00-" TID "-" PID "-01-what-the-future-will-be-like");
}

Test(trace_w3c, future_versions_follow_forward_compatibility_rules)
{
    expect_ids("cc-" TID "-" PID "-01", 1);
    expect_ids("cc-" TID "-" PID "-01-what-the-future-will-be-like", 1);
    expect_invalid("cc-" TID "-" PID "-01.what-the-future-will-be-like");
    expect_invalid("cc-" TID "-" PID "-0");  /* shorter than 55 */
    expect_invalid("01-" TID "-" PID);       /* no flags */
    expect_ids("fe-" TID "-" PID "-03-", 3); /* dash then nothing */
}

Test(trace_w3c, version_ff_and_bad_versions)
{
    expect_invalid("ff-" TID "-" PID "-01");
    expect_invalid(".0-" TID "-" PID "-01");
    expect_invalid("0.-" TID "-" PID "-01");
    expect_invalid("000-" TID "-" PID "-01");
    expect_invalid("0000-" TID "-" PID "-01");
    expect_invalid("0-" TID "-" PID "-01");
    expect_invalid("0A-" TID "-" PID "-01");
    expect_invalid("");
    expect_invalid("00");
}

Test(trace_w3c, trace_id_rules)
{
    expect_invalid("00-00000000000000000000000000000000-" PID "-01");
    expect_invalid("00-.2345678901234567890123456789012-" PID "-01");
    expect_invalid("00-1234567890123456789012345678901.-" PID "-01");
    expect_invalid("00-123456789012345678901234567890123-" PID "-01");
    expect_invalid("00-1234567890123456789012345678901-" PID "-01");
    expect_invalid("00-ABCDEF78901234567890123456789012-" PID "-01"); /* HEXDIGLC */
}

Test(trace_w3c, parent_id_rules)
{
    expect_invalid("00-" TID "-0000000000000000-01");
    expect_invalid("00-" TID "-.234567890123456-01");
    expect_invalid("00-" TID "-123456789012345.-01");
    expect_invalid("00-" TID "-12345678901234567-01");
    expect_invalid("00-" TID "-123456789012345-01");
    expect_invalid("00-" TID "-123456789012345F-01");
}

Test(trace_w3c, flags_rules)
{
    expect_invalid("00-" TID "-" PID "-.0");
    expect_invalid("00-" TID "-" PID "-0.");
    expect_invalid("00-" TID "-" PID "-001");
    expect_invalid("00-" TID "-" PID "-1");
    expect_invalid("00-" TID "-" PID "-0F");
    /* Level 2: the random flag survives; reserved bits are cleared. */
    expect_ids("00-" TID "-" PID "-02", MSB_TRACE_FLAG_RANDOM);
    expect_ids("00-" TID "-" PID "-ff", MSB_TRACE_FLAG_SAMPLED | MSB_TRACE_FLAG_RANDOM);
    expect_ids("00-" TID "-" PID "-08", 0);
}

Test(trace_w3c, ows_around_the_value_is_ignored)
{
    expect_ids(" 00-" TID "-" PID "-01", 1);
    expect_ids("\t00-" TID "-" PID "-01", 1);
    expect_ids("00-" TID "-" PID "-01 ", 1);
    expect_ids("00-" TID "-" PID "-01\t", 1);
    expect_ids("\t 00-" TID "-" PID "-01 \t", 1);
    expect_invalid("00-" TID " -" PID "-01");
}

Test(trace_w3c, format_writes_only_known_flags_and_rejects_invalid)
{
    msb_trace_ctx_t ctx = MSB_TRACE_CTX_INIT;
    char out[MSB_TRACEPARENT_LEN + 1];
    cr_expect_eq(msb_traceparent_format(&ctx, out), MSB_EINVAL);
    cr_assert_eq(tp("cc-" TID "-" PID "-03-x", &ctx), MSB_OK);
    ctx.flags = 0xff;
    cr_assert_eq(msb_traceparent_format(&ctx, out), MSB_OK);
    cr_expect_str_eq(out, "00-" TID "-" PID "-03", "downgraded to version 00");
    cr_expect_eq(msb_traceparent_parse(NULL, 0, &ctx, NULL), MSB_EINVAL);
}

/* ---- tracestate --------------------------------------------------------------------------- */

static msb_status_t ts(msb_trace_ctx_t *ctx, const char *s)
{
    return msb_tracestate_parse(s, strlen(s), ctx, NULL);
}

static void expect_member(const msb_trace_ctx_t *ctx, const char *key, const char *value)
{
    const char *v = NULL;
    size_t n = 0;
    cr_assert_eq(msb_tracestate_get(ctx, key, &v, &n), MSB_OK, "no key %s", key);
    cr_expect_eq(n, strlen(value));
    cr_expect_eq(memcmp(v, value, n), 0, "%s=%.*s", key, (int)n, v);
}

static void expect_absent(const msb_trace_ctx_t *ctx, const char *key)
{
    cr_expect_eq(msb_tracestate_get(ctx, key, NULL, NULL), MSB_ENOTFOUND, "key %s present", key);
}

static size_t members(const msb_trace_ctx_t *ctx)
{
    if (ctx->tracestate_len == 0) {
        return 0;
    }
    size_t n = 1;
    for (size_t i = 0; i < ctx->tracestate_len; i++) {
        n += ctx->tracestate[i] == ',';
    }
    return n;
}

Test(trace_w3c, tracestate_basic_and_multiple_fields)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, "foo=1,bar=2"), MSB_OK);
    cr_assert_eq(ts(&c, "rojo=1,congo=2"), MSB_OK);
    cr_assert_eq(ts(&c, "baz=3"), MSB_OK);
    cr_expect_eq(c.tracestate_len, strlen("foo=1,bar=2,rojo=1,congo=2,baz=3"));
    cr_expect_eq(memcmp(c.tracestate, "foo=1,bar=2,rojo=1,congo=2,baz=3", c.tracestate_len), 0);
    expect_member(&c, "congo", "2");
}

Test(trace_w3c, tracestate_empty_and_ows)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, ""), MSB_OK);
    cr_expect_eq(c.tracestate_len, 0);
    cr_assert_eq(ts(&c, "foo=1 \t , \t bar=2, \t baz=3"), MSB_OK);
    expect_member(&c, "foo", "1");
    expect_member(&c, "bar", "2");
    expect_member(&c, "baz", "3");
    msb_trace_ctx_t d = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&d, "\t foo=1 \t"), MSB_OK);
    expect_member(&d, "foo", "1");
    cr_assert_eq(ts(&d, " , ,,"), MSB_OK, "empty members are allowed");
    cr_expect_eq(members(&d), 1);
    msb_trace_ctx_t e = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&e, "foo= 1"), MSB_OK, "leading spaces belong to the value");
    expect_member(&e, "foo", " 1");
}

Test(trace_w3c, tracestate_duplicate_keys_keep_the_first)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, "foo=1,foo=2"), MSB_OK);
    expect_member(&c, "foo", "1");
    cr_expect_eq(members(&c), 1);
    cr_assert_eq(ts(&c, "foo=3"), MSB_OK);
    expect_member(&c, "foo", "1");
}

Test(trace_w3c, tracestate_key_grammar)
{
    const char *bad[] = {"foo =1", "FOO=1", "foo.bar=1", "@foo=1,bar=2", "=1", "foo"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
        msb_error_t err = MSB_ERROR_INIT;
        cr_expect_eq(msb_tracestate_parse(bad[i], strlen(bad[i]), &c, &err), MSB_EPROTO, "%s",
                     bad[i]);
        cr_expect_eq(c.tracestate_len, 0, "%s: whole tracestate discarded", bad[i]);
        cr_expect_neq(strstr(err.message, "key"), NULL, "%s", err.message);
    }
    const char *good[] = {"foo@=1,bar=2", "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2", "1a=b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
        cr_expect_eq(ts(&c, good[i]), MSB_OK, "%s", good[i]);
    }
}

Test(trace_w3c, tracestate_key_length_limit)
{
    char key[300];
    char hdr[320];
    memset(key, 'z', 256);
    key[256] = '\0';
    snprintf(hdr, sizeof(hdr), "%s=1", key);
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, "foo=1"), MSB_OK);
    cr_assert_eq(ts(&c, hdr), MSB_OK, "256-character key");
    /* the 256-char entry is longer than 128: kept because the list fits in 512 bytes */
    expect_member(&c, key, "1");
    memset(key, 'z', 257);
    key[257] = '\0';
    snprintf(hdr, sizeof(hdr), "%s=1", key);
    msb_trace_ctx_t d = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&d, "foo=1"), MSB_OK);
    cr_expect_eq(ts(&d, hdr), MSB_EPROTO);
    expect_absent(&d, "foo");
    const char *at_keys[] = {"t@vvvvvvvvvvvvvvv", NULL};
    msb_trace_ctx_t e = MSB_TRACE_CTX_INIT;
    snprintf(hdr, sizeof(hdr), "%s=1", at_keys[0]);
    cr_expect_eq(ts(&e, hdr), MSB_OK);
    memset(key, 't', 241);
    key[241] = '@';
    memset(key + 242, 'v', 14);
    key[256] = '\0';
    snprintf(hdr, sizeof(hdr), "%s=1", key);
    msb_trace_ctx_t f = MSB_TRACE_CTX_INIT;
    cr_expect_eq(ts(&f, hdr), MSB_OK);
}

Test(trace_w3c, tracestate_value_grammar)
{
    const char *bad[] = {"foo=bar=baz", "foo=,bar=3", "foo=\x01", "foo=a\tb", "foo=\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
        cr_expect_eq(ts(&c, bad[i]), MSB_EPROTO, "%s", bad[i]);
        expect_absent(&c, "bar");
        expect_absent(&c, "foo");
    }
    /* every allowed character: key chars and value chars 0x20-0x7e except ',' and '=' */
    char value[128];
    size_t n = 0;
    for (int ch = 0x20; ch <= 0x7e; ch++) {
        if (ch != ',' && ch != '=') {
            value[n++] = (char)ch;
        }
    }
    value[n] = '\0';
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=%s", value);
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, hdr), MSB_OK);
    expect_member(&c, "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/", value);
    char v257[300];
    memset(v257, 'x', 257);
    v257[257] = '\0';
    snprintf(hdr, sizeof(hdr), "k=%.257s", v257);
    msb_trace_ctx_t d = MSB_TRACE_CTX_INIT;
    cr_expect_eq(ts(&d, hdr), MSB_EPROTO, "257-character value");
}

Test(trace_w3c, tracestate_member_count_limit)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,"
                        "bar09=09,bar10=10"),
                 MSB_OK);
    cr_assert_eq(ts(&c, "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,"
                        "bar19=19,bar20=20"),
                 MSB_OK);
    cr_assert_eq(ts(&c, "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,"
                        "bar29=29,bar30=30"),
                 MSB_OK);
    msb_trace_ctx_t d = c;
    cr_assert_eq(ts(&c, "bar31=31,bar32=32"), MSB_OK);
    cr_expect_eq(members(&c), 32);
    expect_member(&c, "bar01", "01");
    msb_error_t err = MSB_ERROR_INIT;
    const char *h = "bar31=31,bar32=32,bar33=33";
    cr_expect_eq(msb_tracestate_parse(h, strlen(h), &d, &err), MSB_EPROTO);
    expect_absent(&d, "bar01");
    cr_expect_neq(strstr(err.message, "32"), NULL, "%s", err.message);
}

Test(trace_w3c, tracestate_truncation_removes_long_entries_first)
{
    char hdr[2048];
    char big[200];
    memset(big, 'b', 150);
    big[150] = '\0';
    /* 32 members, one longer than 128 characters, 650 bytes in all: past the 512 kept */
    size_t n = (size_t)snprintf(hdr, sizeof(hdr), "a1=1,a2=2,long=%s", big);
    for (int i = 0; i < 29; i++) {
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, ",k%02d=%s", i, "vvvvvvvvvvvvvvvv");
    }
    msb_trace_ctx_t d = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&d, hdr), MSB_OK);
    cr_expect_leq(d.tracestate_len, MSB_TRACESTATE_MAX);
    expect_absent(&d, "long");
    expect_member(&d, "a1", "1");
    expect_member(&d, "k00", "vvvvvvvvvvvvvvvv");
    expect_member(&d, "k22", "vvvvvvvvvvvvvvvv"); /* 9 + 23 * 21 = 492 bytes */
    expect_absent(&d, "k23");
    /* without the long entry still too long: the right-most go next */
    n = (size_t)snprintf(hdr, sizeof(hdr), "a1=1");
    for (int i = 0; i < 31; i++) {
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, ",k%02d=%s", i, "vvvvvvvvvvvvvvvvvvvv");
    }
    msb_trace_ctx_t e = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&e, hdr), MSB_OK);
    cr_expect_leq(e.tracestate_len, MSB_TRACESTATE_MAX);
    expect_member(&e, "a1", "1");
    expect_absent(&e, "k30");
    cr_expect_eq(e.tracestate[e.tracestate_len - 1], 'v');
}

Test(trace_w3c, tracestate_set_moves_left_and_remove)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    cr_assert_eq(ts(&c, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), MSB_OK);
    cr_assert_eq(msb_tracestate_set(&c, "congo", "ucfJifl5GOE", NULL), MSB_OK);
    cr_expect_eq(memcmp(c.tracestate, "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7", c.tracestate_len),
                 0);
    msb_error_t err = MSB_ERROR_INIT;
    cr_expect_eq(msb_tracestate_set(&c, "Bad", "x", &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "Bad"), NULL);
    cr_expect_eq(msb_tracestate_set(&c, "k", "a,b", NULL), MSB_EINVAL);
    cr_expect_eq(msb_tracestate_set(&c, "k", "trailing ", NULL), MSB_EINVAL);
    msb_tracestate_remove(&c, "congo");
    cr_expect_eq(memcmp(c.tracestate, "rojo=00f067aa0ba902b7", c.tracestate_len), 0);
    msb_tracestate_remove(&c, "absent");
    cr_expect_eq(c.tracestate_len, strlen("rojo=00f067aa0ba902b7"));
    /* 33rd member added on the left pushes the right-most out */
    msb_trace_ctx_t d = MSB_TRACE_CTX_INIT;
    for (int i = 0; i < 32; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        cr_assert_eq(msb_tracestate_set(&d, k, "v", NULL), MSB_OK);
    }
    cr_assert_eq(msb_tracestate_set(&d, "new", "v", NULL), MSB_OK);
    cr_expect_eq(members(&d), 32);
    expect_member(&d, "new", "v");
    expect_absent(&d, "k0");
    expect_member(&d, "k31", "v");
}
