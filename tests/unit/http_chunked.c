/* The chunked decoder (RFC 9112 §7.1): sizes, extensions, trailers, limits, every split. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "http/parser.h"

static msb__http_limits_t lim = {8192, 256, 4, 1000};

typedef struct out {
    int rc;
    msb__http_perr_t e;
    char data[4096];
    size_t len;
    size_t used;
} out_t;

/* Decode `in` fed `step` bytes at a time (0: at once), as the server does with its buffer. */
static void decode(const char *in, size_t n, size_t step, out_t *o)
{
    msb__http_chunked_t d;
    msb__http_chunked_init(&d);
    char pending[8192];
    size_t plen = 0;
    size_t fed = 0;
    o->len = 0;
    o->used = 0;
    o->rc = MSB__PARSE_MORE;
    while (o->rc == MSB__PARSE_MORE && fed < n) {
        size_t k = step == 0 ? n : (n - fed < step ? n - fed : step);
        memcpy(pending + plen, in + fed, k);
        plen += k;
        fed += k;
        size_t used = 0;
        o->rc = msb__http_chunked_decode(&d, &lim, pending, plen, &used, o->data, &o->len, &o->e);
        memmove(pending, pending + used, plen - used);
        plen -= used;
        o->used += used;
    }
    cr_assert_eq(msb__http_chunked_done(&d), o->rc == MSB__PARSE_DONE);
}

static out_t *run(const char *in)
{
    static out_t whole;
    static out_t part;
    size_t n = strlen(in);
    decode(in, n, 0, &whole);
    for (size_t step = 1; step < 9; step++) {
        decode(in, n, step, &part);
        cr_assert_eq(part.rc, whole.rc, "step %zu for %s", step, in);
        if (whole.rc == MSB__PARSE_DONE) {
            cr_assert_eq(part.len, whole.len);
            cr_assert_eq(memcmp(part.data, whole.data, whole.len), 0);
            cr_assert_eq(part.used, whole.used);
        } else if (whole.rc == MSB__PARSE_ERROR) {
            cr_assert_eq(part.e.status, whole.e.status);
        }
    }
    return &whole;
}

static void decodes_to(const char *in, const char *want)
{
    out_t *o = run(in);
    cr_assert_eq(o->rc, MSB__PARSE_DONE, "%s: %d %s", in, o->e.status,
                 o->rc < 0 ? o->e.detail : "");
    cr_assert_eq(o->len, strlen(want));
    cr_assert_eq(memcmp(o->data, want, o->len), 0);
}

static void fails(const char *in, int status)
{
    out_t *o = run(in);
    cr_assert_eq(o->rc, MSB__PARSE_ERROR, "%s should fail", in);
    cr_assert_eq(o->e.status, status, "%s: %d (%s)", in, o->e.status, o->e.detail);
}

Test(http_chunked, chunks_and_last_chunk)
{
    decodes_to("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    decodes_to("0\r\n\r\n", "");
    decodes_to("A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
    decodes_to("00005\r\nhello\r\n000\r\n\r\n", "hello");
}

Test(http_chunked, bytes_after_the_message_are_not_consumed)
{
    out_t *o = run("1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n");
    cr_assert_eq(o->rc, MSB__PARSE_DONE);
    cr_assert_eq(o->used, 11);
}

Test(http_chunked, extensions_are_validated_and_ignored)
{
    decodes_to("5;a=b;c=\"d e\\\"f\";flag\r\nhello\r\n0;last\r\n\r\n", "hello");
    decodes_to("5 ; a = b\r\nhello\r\n0\r\n\r\n", "hello");
    fails("5;\r\nhello\r\n0\r\n\r\n", 400);
    fails("5;a=\r\nhello\r\n0\r\n\r\n", 400);
    fails("5;a=\"open\r\nhello\r\n0\r\n\r\n", 400);
    fails("5 \r\nhello\r\n0\r\n\r\n", 400);
    fails("5x\r\nhello\r\n0\r\n\r\n", 400);
}

Test(http_chunked, sizes_must_be_hex_and_within_the_limit)
{
    fails("\r\nhello\r\n0\r\n\r\n", 400);
    fails("-5\r\nhello\r\n0\r\n\r\n", 400);
    fails("0x5\r\nhello\r\n0\r\n\r\n", 400);
    fails("fffffffffffffffffffffff\r\n", 413);
    fails("10000000000000005\r\nhello\r\n", 413);
    fails("3e9\r\n", 413); /* 1001 > the 1000-byte limit */
}

Test(http_chunked, total_size_counts_all_chunks)
{
    static char in[2200];
    char *p = in;
    for (int i = 0; i < 3; i++) {
        p += sprintf(p, "190\r\n"); /* 400 bytes each: 1200 > 1000 */
        memset(p, 'x', 400);
        p += 400;
        p += sprintf(p, "\r\n");
    }
    strcpy(p, "0\r\n\r\n");
    fails(in, 413);
}

Test(http_chunked, data_must_be_followed_by_crlf)
{
    fails("5\r\nhelloX\r\n0\r\n\r\n", 400);
    fails("5\r\nhello\n0\r\n\r\n", 400);
    fails("5\r\nhello\rX0\r\n\r\n", 400);
    fails("3\r\nhello\r\n0\r\n\r\n", 400);
}

Test(http_chunked, lines_need_crlf)
{
    fails("5\nhello\r\n0\r\n\r\n", 400);
    fails("0\r\n\n", 400);
}

Test(http_chunked, trailers_are_validated_limited_and_dropped)
{
    decodes_to("1\r\na\r\n0\r\nX-Trailer: v\r\nY: w\r\n\r\n", "a");
    fails("1\r\na\r\n0\r\nX-Trailer : v\r\n\r\n", 400);
    fails("1\r\na\r\n0\r\nX: v\r\n folded\r\n\r\n", 400);
    fails("1\r\na\r\n0\r\nnocolon\r\n\r\n", 400);
    fails("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 431);
    static char big[600];
    strcpy(big, "0\r\nX: ");
    memset(big + 6, 'v', 300);
    strcpy(big + 306, "\r\n\r\n");
    fails(big, 431);
}

Test(http_chunked, long_size_lines_are_refused)
{
    static char in[6000];
    strcpy(in, "5;");
    memset(in + 2, 'a', 5000);
    in[5002] = '\0';
    fails(in, 400);
}

Test(http_chunked, in_place_decoding)
{
    char buf[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    msb__http_chunked_t d;
    msb__http_chunked_init(&d);
    size_t used = 0;
    size_t out = 0;
    msb__http_perr_t e;
    int rc = msb__http_chunked_decode(&d, &lim, buf, strlen(buf), &used, buf, &out, &e);
    cr_assert_eq(rc, MSB__PARSE_DONE);
    cr_assert_eq(out, 5);
    cr_assert_eq(memcmp(buf, "abcde", 5), 0);
    cr_assert_eq(used, strlen("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
}
