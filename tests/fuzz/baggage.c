/* Fuzz target: W3C baggage. Input: header fields, one per line. Checks: no crash, no leak; the
 * limits hold; what is accepted formats to a header that parses back to the same members. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msb/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    msb_baggage_t *bag = NULL;
    if (msb_baggage_new(&bag) != MSB_OK) {
        return 0;
    }
    size_t pos = 0;
    while (pos <= size) {
        const char *end = memchr(s + pos, '\n', size - pos);
        size_t len = end != NULL ? (size_t)(end - (s + pos)) : size - pos;
        size_t before = msb_baggage_count(bag);
        if (msb_baggage_parse(bag, s + pos, len, NULL) != MSB_OK &&
            msb_baggage_count(bag) != before) {
            abort(); /* a rejected field appends nothing */
        }
        pos += len + 1;
    }
    if (msb_baggage_count(bag) > MSB_BAGGAGE_MAX_MEMBERS) {
        abort();
    }
    char *hdr = NULL;
    size_t hlen = 0;
    if (msb_baggage_format(bag, &hdr, &hlen) == MSB_OK) {
        msb_baggage_t *again = NULL;
        if (msb_baggage_new(&again) == MSB_OK) {
            if (msb_baggage_parse(again, hdr, hlen, NULL) != MSB_OK ||
                msb_baggage_count(again) != msb_baggage_count(bag)) {
                abort();
            }
            for (size_t i = 0; i < msb_baggage_count(bag); i++) {
                const char *k1, *v1, *p1, *k2, *v2, *p2;
                msb_baggage_member(bag, i, &k1, &v1, &p1);
                msb_baggage_member(again, i, &k2, &v2, &p2);
                if (strcmp(k1, k2) != 0 || strcmp(p1, p2) != 0) {
                    abort();
                }
            }
            msb_baggage_free(again);
        }
        msb_trace_string_free(hdr);
    }
    (void)msb_baggage_set(bag, "k", "fuzzed value %", "p=1", NULL);
    msb_baggage_remove(bag, "k");
    msb_baggage_free(bag);
    return 0;
}
