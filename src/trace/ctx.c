/* Ids, hex, and the small helpers of msb_trace_ctx_t. */
#include <string.h>

#include "core/rand.h"
#include "trace/internal.h"

static const char hex_digits[] = "0123456789abcdef";

void msb__hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_value_lc(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

bool msb__hex_decode_lc(const char *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value_lc(in[2 * i]);
        int lo = hex_value_lc(in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return true;
}

bool msb__all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

/* Store v big-endian (ids are byte arrays in network order). */
static void put_u64(uint8_t *out, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(out, &v, 8);
}

void msb__new_trace_id(uint8_t out[16])
{
    uint64_t hi = msb__rand_u64();
    uint64_t lo = msb__rand_u64();
    /* The right-most 7 bytes carry the randomness the W3C random flag promises; an all-zero id
     * (probability 2^-128) is replaced, as zero ids are invalid. */
    if (MSB_UNLIKELY((hi | lo) == 0)) {
        lo = 1;
    }
    put_u64(out, hi);
    put_u64(out + 8, lo);
}

void msb__new_span_id(uint8_t out[8])
{
    uint64_t v = msb__rand_u64();
    if (MSB_UNLIKELY(v == 0)) {
        v = 1;
    }
    put_u64(out, v);
}

bool msb_trace_ctx_valid(const msb_trace_ctx_t *ctx)
{
    return ctx != NULL && !msb__all_zero(ctx->trace_id, 16) && !msb__all_zero(ctx->span_id, 8);
}

bool msb_trace_ctx_sampled(const msb_trace_ctx_t *ctx)
{
    return ctx != NULL && (ctx->flags & MSB_TRACE_FLAG_SAMPLED) != 0;
}

void msb_trace_ctx_trace_id_hex(const msb_trace_ctx_t *ctx, char out[33])
{
    msb__hex_encode(ctx->trace_id, 16, out);
}

void msb_trace_ctx_span_id_hex(const msb_trace_ctx_t *ctx, char out[17])
{
    msb__hex_encode(ctx->span_id, 8, out);
}
