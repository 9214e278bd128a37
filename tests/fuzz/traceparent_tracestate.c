/* Fuzz target: traceparent and tracestate. Input: a traceparent line, then tracestate fields one
 * per line. Checks: no crash; an accepted traceparent formats and parses back to the same ids;
 * an accepted tracestate is within the limits and parses back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msb/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tracestate(const msb_trace_ctx_t *ctx)
{
    if (ctx->tracestate_len > MSB_TRACESTATE_MAX) {
        abort();
    }
    msb_trace_ctx_t again = MSB_TRACE_CTX_INIT;
    if (msb_tracestate_parse(ctx->tracestate, ctx->tracestate_len, &again, NULL) != MSB_OK ||
        again.tracestate_len != ctx->tracestate_len ||
        memcmp(again.tracestate, ctx->tracestate, ctx->tracestate_len) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t first = nl != NULL ? (size_t)(nl - s) : size;
    msb_trace_ctx_t ctx = MSB_TRACE_CTX_INIT;
    if (msb_traceparent_parse(s, first, &ctx, NULL) == MSB_OK) {
        if (!msb_trace_ctx_valid(&ctx) || (ctx.flags & ~MSB_TRACE_FLAGS_KNOWN) != 0) {
            abort();
        }
        char out[MSB_TRACEPARENT_LEN + 1];
        msb_trace_ctx_t back;
        if (msb_traceparent_format(&ctx, out) != MSB_OK ||
            msb_traceparent_parse(out, strlen(out), &back, NULL) != MSB_OK ||
            memcmp(back.trace_id, ctx.trace_id, 16) != 0 ||
            memcmp(back.span_id, ctx.span_id, 8) != 0 || back.flags != ctx.flags) {
            abort();
        }
    }
    size_t pos = first;
    while (pos < size) {
        pos++; /* skip the newline */
        const char *line = s + pos;
        const char *end = memchr(line, '\n', size - pos);
        size_t len = end != NULL ? (size_t)(end - line) : size - pos;
        if (msb_tracestate_parse(line, len, &ctx, NULL) == MSB_OK) {
            check_tracestate(&ctx);
        } else if (ctx.tracestate_len != 0) {
            abort(); /* a rejected field discards the whole tracestate */
        }
        pos += len;
    }
    const char *v;
    size_t vn;
    (void)msb_tracestate_get(&ctx, "congo", &v, &vn);
    if (msb_tracestate_set(&ctx, "msb", "fuzz", NULL) == MSB_OK) {
        check_tracestate(&ctx);
    }
    msb_tracestate_remove(&ctx, "msb");
    check_tracestate(&ctx);
    return 0;
}
