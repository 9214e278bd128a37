/* Span memory: an inline arena, then heap chunks; copies of attributes into it. */
#include <string.h>

#include "core/alloc.h"
#include "trace/internal.h"

#define CHUNK_MIN 1024

static size_t align_up(size_t n)
{
    return (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
}

void *msb__chunk_alloc(msb__chunk_t **chunks, size_t n)
{
    n = align_up(n);
    msb__chunk_t *c = *chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = msb__malloc(sizeof(msb__chunk_t) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        c->next = *chunks;
        *chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void msb__chunks_free(msb__chunk_t *chunks)
{
    while (chunks != NULL) {
        msb__chunk_t *next = chunks->next;
        msb__free(chunks);
        chunks = next;
    }
}

void *msb__span_mem(msb_span_t *s, size_t n)
{
    size_t need = align_up(n);
    if (MSB_LIKELY(need <= sizeof(s->arena) - s->arena_used)) {
        void *p = (char *)s->arena + s->arena_used;
        s->arena_used += (uint32_t)need;
        return p;
    }
    return msb__chunk_alloc(&s->chunks, n);
}

size_t msb__utf8_cut(const char *p, size_t n, size_t max)
{
    if (n <= max) {
        return n;
    }
    /* Step back over continuation bytes so a character is never split. */
    size_t cut = max;
    while (cut > 0 && ((unsigned char)p[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

static bool dup_into(void *(*alloc)(void *, size_t), void *ctx, const char *p, size_t n,
                     msb__str_t *out)
{
    char *d = alloc(ctx, n + 1);
    if (d == NULL) {
        return false;
    }
    if (n > 0) {
        memcpy(d, p, n);
    }
    d[n] = '\0';
    out->p = d;
    out->len = n;
    return true;
}

static void *span_alloc_cb(void *ctx, size_t n)
{
    return msb__span_mem(ctx, n);
}

static void *chunk_alloc_cb(void *ctx, size_t n)
{
    return msb__chunk_alloc(ctx, n);
}

bool msb__span_strdup(msb_span_t *s, const char *p, size_t n, msb__str_t *out)
{
    return dup_into(span_alloc_cb, s, p, n, out);
}

static bool copy_attr(void *(*alloc)(void *, size_t), void *ctx, const msb_attr_t *in,
                      msb__attr_t *out, uint32_t max_len)
{
    if (in->key == NULL || in->key[0] == '\0') {
        return false;
    }
    if (!dup_into(alloc, ctx, in->key, strlen(in->key), &out->key)) {
        return false;
    }
    out->type = in->type;
    switch (in->type) {
    case MSB_ATTR_STRING: {
        const char *v = in->v.s != NULL ? in->v.s : "";
        size_t n = strlen(v);
        n = max_len > 0 ? msb__utf8_cut(v, n, max_len) : n;
        return dup_into(alloc, ctx, v, n, &out->v.s);
    }
    case MSB_ATTR_INT:
        out->v.i = in->v.i;
        return true;
    case MSB_ATTR_DOUBLE:
        out->v.d = in->v.d;
        return true;
    case MSB_ATTR_BOOL:
        out->v.b = in->v.b;
        return true;
    case MSB_ATTR_STRING_ARRAY: {
        size_t n = in->v.a.items != NULL ? in->v.a.n : 0;
        const char **items = alloc(ctx, n * sizeof(*items) + 1);
        if (items == NULL) {
            return false;
        }
        const char *const *src = in->v.a.items;
        for (size_t i = 0; i < n; i++) {
            const char *v = src[i] != NULL ? src[i] : "";
            size_t len = strlen(v);
            len = max_len > 0 ? msb__utf8_cut(v, len, max_len) : len;
            msb__str_t copy;
            if (!dup_into(alloc, ctx, v, len, &copy)) {
                return false;
            }
            items[i] = copy.p;
        }
        out->v.a.items = (void *)items;
        out->v.a.n = n;
        return true;
    }
    case MSB_ATTR_INT_ARRAY:
    case MSB_ATTR_DOUBLE_ARRAY:
    case MSB_ATTR_BOOL_ARRAY: {
        size_t esz = in->type == MSB_ATTR_INT_ARRAY      ? sizeof(int64_t)
                     : in->type == MSB_ATTR_DOUBLE_ARRAY ? sizeof(double)
                                                         : sizeof(bool);
        size_t n = in->v.a.items != NULL ? in->v.a.n : 0;
        void *items = alloc(ctx, n * esz + 1);
        if (items == NULL) {
            return false;
        }
        if (n > 0) {
            memcpy(items, in->v.a.items, n * esz);
        }
        out->v.a.items = items;
        out->v.a.n = n;
        return true;
    }
    default:
        return false;
    }
}

bool msb__span_attr_copy(msb_span_t *s, const msb_attr_t *in, msb__attr_t *out)
{
    return copy_attr(span_alloc_cb, s, in, out, s->provider->max_value_len);
}

bool msb__attr_copy_chunks(msb__chunk_t **chunks, const msb_attr_t *in, msb__attr_t *out,
                           uint32_t max_value_len)
{
    return copy_attr(chunk_alloc_cb, chunks, in, out, max_value_len);
}
