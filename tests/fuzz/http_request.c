/*
 * libFuzzer target for the request parser: the input is one or more messages, fed to the head
 * parser in pieces whose size comes from the first byte (so every split is explored), then the
 * body is decoded as the framing says (chunked in place), the path split and decoded as the
 * router would, and the next message parsed. Invariants are checked with __builtin_trap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"
#include "http/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const msb__http_limits_t lim = {1024, 2048, 32, 4096};

static void require(bool cond)
{
    if (!cond) {
        __builtin_trap();
    }
}

static void check_head(const char *buf, const msb__http_head_t *h)
{
    require(h->head_len > 0);
    require(h->method_off + h->method_len <= h->head_len);
    require(strlen(buf + h->method_off) == h->method_len);
    for (uint32_t i = 0; i < h->nfields; i++) {
        const msb__http_field_t *f = &h->fields[i];
        require(f->name_off + f->name_len < h->head_len);
        require(f->value_off + f->value_len < h->head_len);
        require(strlen(buf + f->value_off) == f->value_len);
    }
    require(h->framing != MSB__BODY_CHUNKED || h->minor == 1);
    if (h->form == MSB__FORM_ORIGIN && h->path_len > 0) {
        static msb__http_seg_t segs[MSB__HTTP_MAX_SEGMENTS];
        static char scratch[2048];
        size_t n;
        msb__http_perr_t e;
        require(buf[h->path_off] == '/');
        if (msb__http_path_split(buf + h->path_off, h->path_len, segs, &n, scratch, &e)) {
            require(n >= 1);
        } else {
            require(e.status == 400 || e.status == 414);
        }
    }
}

/* Decode a chunked body in place; returns the bytes consumed or 0 when incomplete/invalid. */
static size_t body(char *in, size_t len, const msb__http_head_t *h)
{
    if (h->framing == MSB__BODY_LENGTH) {
        return h->content_length <= len ? (size_t)h->content_length : 0;
    }
    if (h->framing != MSB__BODY_CHUNKED) {
        return 0;
    }
    msb__http_chunked_t d;
    msb__http_chunked_init(&d);
    size_t used = 0;
    size_t out = 0;
    msb__http_perr_t e;
    int rc = msb__http_chunked_decode(&d, &lim, in, len, &used, in, &out, &e);
    require(used <= len && out <= used);
    require(rc != MSB__PARSE_DONE || out <= lim.max_body);
    require(rc != MSB__PARSE_ERROR || e.status == 400 || e.status == 413 || e.status == 431);
    return rc == MSB__PARSE_DONE ? used : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) {
        return 0;
    }
    size_t step = (size_t)(data[0] % 23) + 1;
    data++;
    size--;
    char *buf = malloc(size + 1);
    msb__http_field_t fields[32];
    size_t start = 0;
    for (int msg = 0; msg < 4 && start < size; msg++) {
        msb__http_head_t h;
        memset(&h, 0, sizeof(h));
        h.fields = fields;
        h.fields_cap = 32;
        msb__http_parser_t p;
        msb__http_parser_init(&p, &h);
        size_t have = 0;
        size_t left = size - start;
        int rc = MSB__PARSE_MORE;
        msb__http_perr_t e;
        while (rc == MSB__PARSE_MORE && have < left) {
            size_t k = left - have < step ? left - have : step;
            memcpy(buf + have, data + start + have, k);
            have += k;
            rc = msb__http_parse_head(&p, buf, have, &lim, &h, &e);
        }
        if (rc != MSB__PARSE_DONE) {
            require(rc != MSB__PARSE_ERROR || (e.status >= 400 && e.status < 600 && e.detail));
            break;
        }
        check_head(buf, &h);
        memcpy(buf + have, data + start + have, left - have);
        size_t used = body(buf + h.head_len, left - h.head_len, &h);
        if (h.framing != MSB__BODY_NONE && used == 0) {
            break;
        }
        start += h.head_len + used;
    }
    free(buf);
    return 0;
}
