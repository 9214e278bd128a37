/* Fuzz target: B3. Input: the single `b3` value on the first line, then up to five X-B3-* values
 * (TraceId, SpanId, ParentSpanId, Sampled, Flags), one per line. Checks: no crash; accepted ids are
 * never all zero; a sampled context is accept or debug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msb/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(msb_status_t rc, const msb_trace_ctx_t *c, msb_b3_sampling_t smp)
{
    if (rc != MSB_OK) {
        return;
    }
    bool zero_t = true;
    bool zero_s = true;
    for (int i = 0; i < 16; i++) {
        zero_t = zero_t && c->trace_id[i] == 0;
    }
    for (int i = 0; i < 8; i++) {
        zero_s = zero_s && c->span_id[i] == 0;
    }
    if (zero_t != zero_s) {
        abort(); /* ids come together or not at all */
    }
    if (msb_trace_ctx_sampled(c) != (smp == MSB_B3_ACCEPT || smp == MSB_B3_DEBUG)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *fields[6] = {NULL};
    size_t nf = 0;
    char *p = copy;
    while (nf < 6) {
        fields[nf++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL) {
            break;
        }
        *nl = '\0';
        p = nl + 1;
    }
    msb_trace_ctx_t c = MSB_TRACE_CTX_INIT;
    msb_b3_sampling_t smp = MSB_B3_DEFER;
    msb_status_t rc = msb_b3_parse_single(fields[0], strlen(fields[0]), &c, &smp, NULL);
    check(rc, &c, smp);
    msb_trace_ctx_t m = MSB_TRACE_CTX_INIT;
    smp = MSB_B3_DEFER;
    rc = msb_b3_parse_multi(fields[1], fields[2], fields[3], fields[4], fields[5], &m, &smp, NULL);
    check(rc, &m, smp);
    free(copy);
    return 0;
}
