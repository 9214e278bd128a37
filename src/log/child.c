/*
 * Child loggers: the parent's core plus bound fields, encoded once into the child's fragment so
 * that a record copies them with one memcpy. The child also keeps each bound field's raw key and
 * place in the fragment, so a record's own field of the same key can override it.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"
#include "log/log_impl.h"

static msb_status_t check_fields(const msb_log_field_t *fields, size_t n, msb_error_t *err)
{
    if (n > 0 && fields == NULL) {
        return msb__err(err, MSB_EINVAL, "log: child fields is NULL with n = %zu", n);
    }
    if (n > MSB_LOG_MAX_FIELDS) {
        return msb__err(err, MSB_EINVAL, "log: %zu child fields, at most %d", n,
                        MSB_LOG_MAX_FIELDS);
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = fields[i].key;
        size_t klen = k == NULL ? 0 : strlen(k);
        if (klen == 0) {
            return msb__err(err, MSB_EINVAL, "log: child field %zu has an empty key", i);
        }
        if (!msb__utf8_valid(k, klen)) {
            return msb__err(err, MSB_EINVAL, "log: child field %zu: key is not valid UTF-8", i);
        }
        if (msb__log_key_reserved(k, klen)) {
            return msb__err(err, MSB_EINVAL, "log: child field \"%s\": the key is reserved", k);
        }
        if ((unsigned)fields[i].type > MSB_LOG_BOOL) {
            return msb__err(err, MSB_EINVAL, "log: child field \"%s\": type %d is not a type", k,
                            (int)fields[i].type);
        }
    }
    return MSB_OK;
}

/* One bound field to carry into the child: from the parent's fragment or newly encoded. */
typedef struct pick {
    const char *key;
    size_t klen;
    const msb_log_field_t *f; /* NULL: copy the parent's bytes */
    size_t poff;              /* parent's fragment: offset and length */
    size_t plen;
} pick_t;

static bool overridden(const char *key, size_t klen, const msb_log_field_t *fields, size_t from,
                       size_t n)
{
    for (size_t j = from; j < n; j++) {
        if (strlen(fields[j].key) == klen && memcmp(fields[j].key, key, klen) == 0) {
            return true;
        }
    }
    return false;
}

/* The child's bound fields in order: the parent's not overridden, then the new, last wins. */
static size_t pick_fields(const msb_log_t *parent, const msb_log_field_t *fields, size_t n,
                          pick_t *picks)
{
    size_t np = 0;
    for (size_t i = 0; i < parent->nbound; i++) {
        const msb__log_bound_t *pb = &parent->bound[i];
        if (!overridden(pb->key, pb->klen, fields, 0, n)) {
            picks[np++] = (pick_t){pb->key, pb->klen, NULL, pb->off, pb->len};
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t klen = strlen(fields[i].key);
        if (!overridden(fields[i].key, klen, fields, i + 1, n)) {
            picks[np++] = (pick_t){fields[i].key, klen, &fields[i], 0, 0};
        }
    }
    return np;
}

static msb_status_t build(msb_log_t *child, const msb_log_t *parent, const pick_t *picks, size_t np)
{
    size_t keys_len = 0;
    for (size_t i = 0; i < np; i++) {
        keys_len += picks[i].klen + 1;
    }
    msb__buf_t b = MSB__BUF_INIT;
    child->bound = msb__calloc(np == 0 ? 1 : np, sizeof(*child->bound));
    child->keys = msb__malloc(keys_len == 0 ? 1 : keys_len);
    msb__buf_append(&b, parent->frag, parent->svc_len);
    if (child->bound == NULL || child->keys == NULL || msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return MSB_ENOMEM;
    }
    size_t ko = 0;
    for (size_t i = 0; i < np; i++) {
        msb__log_bound_t *bd = &child->bound[i];
        bd->off = b.len;
        if (picks[i].f == NULL) {
            msb__buf_append(&b, parent->frag + picks[i].poff, picks[i].plen);
        } else {
            msb__log_put_field(&b, picks[i].f, picks[i].klen);
        }
        bd->len = b.len - bd->off;
        memcpy(child->keys + ko, picks[i].key, picks[i].klen);
        child->keys[ko + picks[i].klen] = '\0';
        bd->key = child->keys + ko;
        bd->klen = picks[i].klen;
        bd->tag = msb__log_key_tag(bd->key, bd->klen);
        child->bloom |= UINT64_C(1) << (bd->tag % 64);
        ko += picks[i].klen + 1;
    }
    if (msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return MSB_ENOMEM;
    }
    child->nbound = np;
    child->svc_len = parent->svc_len;
    child->frag = msb__buf_steal(&b, &child->frag_len);
    return MSB_OK;
}

msb_status_t msb_log_child(msb_log_t *parent, const msb_log_field_t *fields, size_t n,
                           msb_log_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "log: out is NULL");
    }
    msb_status_t st = check_fields(fields, n, err);
    if (st != MSB_OK) {
        return st;
    }
    if (parent == NULL) {
        parent = msb_log_default();
    }
    pick_t picks[2 * MSB_LOG_MAX_FIELDS];
    size_t np = pick_fields(parent, fields, n, picks);
    if (np > MSB_LOG_MAX_FIELDS) {
        return msb__err(err, MSB_EINVAL, "log: a child would bind %zu fields, at most %d", np,
                        MSB_LOG_MAX_FIELDS);
    }
    msb_log_t *child = msb__calloc(1, sizeof(*child));
    if (child == NULL) {
        return msb__err_nomem(err, "a child logger");
    }
    child->core = parent->core;
    if (build(child, parent, picks, np) != MSB_OK) {
        msb__free(child->bound);
        msb__free(child->keys);
        msb__free(child);
        return msb__err_nomem(err, "a child logger's fields");
    }
    if (!child->core->builtin) {
        atomic_fetch_add_explicit(&child->core->refs, 1, memory_order_relaxed);
    }
    *out = child;
    return MSB_OK;
}
