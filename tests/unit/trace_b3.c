/* B3 single and multiple headers, against the examples of openzipkin/b3-propagation. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/trace.h"

static msb_status_t single(const char *s, msb_trace_ctx_t *c, msb_b3_sampling_t *smp)
{
    return msb_b3_parse_single(s, strlen(s), c, smp, NULL);
}

static void hex_ids(const msb_trace_ctx_t *c, char t[33], char s[17])
{
    msb_trace_ctx_trace_id_hex(c, t);
    msb_trace_ctx_span_id_hex(c, s);
}

Test(trace_b3, single_full)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    msb_b3_sampling_t smp = MSB_B3_DEFER;
    cr_assert_eq(
        single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", &c, &smp),
        MSB_OK);
    char t[33], s[17];
    hex_ids(&c, t, s);
    cr_expect_str_eq(t, "80f198ee56343ba864fe8b2a57d3eff7");
    cr_expect_str_eq(s, "e457b5a2e4d86bd1");
    cr_expect_eq(smp, MSB_B3_ACCEPT);
    cr_expect(msb_trace_ctx_sampled(&c));
    cr_expect(c.remote);
}

Test(trace_b3, single_forms)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    msb_b3_sampling_t smp;
    cr_assert_eq(single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d", &c, &smp), MSB_OK);
    cr_expect_eq(smp, MSB_B3_DEBUG);
    cr_expect(msb_trace_ctx_sampled(&c));
    cr_assert_eq(single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1", &c, &smp), MSB_OK);
    cr_expect_eq(smp, MSB_B3_DEFER);
    cr_expect(!msb_trace_ctx_sampled(&c));
    cr_assert_eq(single("64fe8b2a57d3eff7-e457b5a2e4d86bd1-0", &c, &smp), MSB_OK);
    char t[33], s[17];
    hex_ids(&c, t, s);
    cr_expect_str_eq(t, "000000000000000064fe8b2a57d3eff7", "64-bit ids are left-padded");
    cr_expect_eq(smp, MSB_B3_DENY);
    cr_assert_eq(single("0", &c, &smp), MSB_OK);
    cr_expect_eq(smp, MSB_B3_DENY);
    cr_expect(!msb_trace_ctx_valid(&c), "sampling only: no ids");
    cr_assert_eq(single("d", &c, &smp), MSB_OK);
    cr_expect_eq(smp, MSB_B3_DEBUG);
    cr_expect(msb_trace_ctx_sampled(&c));
}

Test(trace_b3, single_malformed)
{
    const char *bad[] = {
        "",
        "2",
        "-",
        "80f198ee56343ba864fe8b2a57d3eff7",
        "80f198ee56343ba864fe8b2a57d3eff7-",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd",
        "80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1",
        "80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1",
        "00000000000000000000000000000000-e457b5a2e4d86bd1",
        "80f198ee56343ba864fe8b2a57d3eff7-0000000000000000",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b900",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-0000000000000000",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-05e3ac9a4f6e3b90",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1x1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
        msb_error_t err = MSB_ERROR_INIT;
        cr_expect_eq(msb_b3_parse_single(bad[i], strlen(bad[i]), &c, NULL, &err), MSB_EPROTO,
                     "accepted \"%s\"", bad[i]);
        cr_expect_eq(strncmp(err.message, "b3: ", 4), 0, "%s", err.message);
        cr_expect(!msb_trace_ctx_valid(&c));
    }
    cr_expect_eq(msb_b3_parse_single(NULL, 0, NULL, NULL, NULL), MSB_EINVAL);
}

Test(trace_b3, multi)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    msb_b3_sampling_t smp;
    cr_assert_eq(msb_b3_parse_multi("463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312",
                                    "0020000000000001", "1", NULL, &c, &smp, NULL),
                 MSB_OK);
    char t[33], s[17];
    hex_ids(&c, t, s);
    cr_expect_str_eq(t, "463ac35c9f6413ad48485a3953bb6124");
    cr_expect_str_eq(s, "a2fb4a1d1a96d312");
    cr_expect_eq(smp, MSB_B3_ACCEPT);
    cr_assert_eq(msb_b3_parse_multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, "true", NULL, &c,
                                    &smp, NULL),
                 MSB_OK);
    cr_expect_eq(smp, MSB_B3_ACCEPT, "lenient true");
    cr_assert_eq(
        msb_b3_parse_multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, NULL, "1", &c, &smp, NULL),
        MSB_OK);
    cr_expect_eq(smp, MSB_B3_DEBUG);
    cr_assert_eq(
        msb_b3_parse_multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, "0", "2", &c, &smp, NULL),
        MSB_OK);
    cr_expect_eq(smp, MSB_B3_DENY, "other X-B3-Flags values are ignored");
    cr_assert_eq(msb_b3_parse_multi(NULL, NULL, NULL, "0", NULL, &c, &smp, NULL), MSB_OK);
    cr_expect_eq(smp, MSB_B3_DENY);
    cr_expect(!msb_trace_ctx_valid(&c));
    cr_expect_eq(msb_b3_parse_multi(NULL, NULL, NULL, NULL, NULL, &c, &smp, NULL), MSB_ENOTFOUND);
}

Test(trace_b3, multi_malformed)
{
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    msb_error_t err = MSB_ERROR_INIT;
    const char *t = "463ac35c9f6413ad48485a3953bb6124";
    const char *s = "a2fb4a1d1a96d312";
    cr_expect_eq(msb_b3_parse_multi(t, s, NULL, "", NULL, &c, NULL, &err), MSB_EPROTO);
    cr_expect_neq(strstr(err.message, "X-B3-Sampled"), NULL, "%s", err.message);
    cr_expect_eq(msb_b3_parse_multi(t, s, "-", "1", NULL, &c, NULL, &err), MSB_EPROTO);
    cr_expect_neq(strstr(err.message, "X-B3-ParentSpanId"), NULL, "%s", err.message);
    cr_expect_eq(msb_b3_parse_multi(t, NULL, NULL, "1", NULL, &c, NULL, NULL), MSB_EPROTO);
    cr_expect_eq(msb_b3_parse_multi(NULL, s, NULL, "1", NULL, &c, NULL, NULL), MSB_EPROTO);
    cr_expect_eq(msb_b3_parse_multi("463ac35c9f6413a", s, NULL, NULL, NULL, &c, NULL, &err),
                 MSB_EPROTO);
    cr_expect_neq(strstr(err.message, "X-B3-TraceId"), NULL, "%s", err.message);
    cr_expect_eq(msb_b3_parse_multi(t, "A2FB4A1D1A96D312", NULL, NULL, NULL, &c, NULL, &err),
                 MSB_EPROTO);
    cr_expect_neq(strstr(err.message, "X-B3-SpanId"), NULL, "%s", err.message);
    cr_expect_eq(msb_b3_parse_multi(NULL, NULL, "0020000000000001", NULL, NULL, &c, NULL, NULL),
                 MSB_EPROTO);
    cr_expect_eq(msb_b3_parse_multi(t, s, NULL, "yes", NULL, &c, NULL, NULL), MSB_EPROTO);
    cr_expect(!msb_trace_ctx_valid(&c));
    cr_expect_eq(msb_b3_parse_multi(t, s, NULL, NULL, NULL, NULL, NULL, NULL), MSB_EINVAL);
}
