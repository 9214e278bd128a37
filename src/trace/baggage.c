/*
 * W3C Baggage: parsing, percent-decoding and encoding, limits.
 *
 *   baggage-string = list-member 0*179( OWS "," OWS list-member )
 *   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
 *   property       = key OWS "=" OWS value / key OWS
 *   key            = token (RFC 7230)
 *   value          = *baggage-octet  (%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E)
 */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "trace/internal.h"

typedef struct bag_member {
    char *key; /* one allocation: key \0 value \0 properties \0 */
    char *value;
    size_t value_len;
    char *props;
    size_t wire_len; /* length of "key=encoded-value[;props]" */
} bag_member_t;

struct msb_baggage {
    bag_member_t *m;
    size_t n;
    size_t cap;
    size_t dropped;
};

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_ows((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*p)[*n - 1])) {
        (*n)--;
    }
}

static bool token_valid(const char *p, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

/* Validate properties "p1=v1 ; p2" and write them normalised (no OWS) to b; false if malformed. */
static bool parse_props(const char *p, size_t n, msb__buf_t *b)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ';') {
            continue;
        }
        const char *q = p + start;
        size_t qn = i - start;
        start = i + 1;
        trim(&q, &qn);
        const char *eq = memchr(q, '=', qn);
        const char *k = q;
        size_t kn = eq != NULL ? (size_t)(eq - q) : qn;
        trim(&k, &kn);
        if (!token_valid(k, kn)) {
            return false;
        }
        if (b->len > 0) {
            msb__buf_putc(b, ';');
        }
        msb__buf_append(b, k, kn);
        if (eq != NULL) {
            const char *v = eq + 1;
            size_t vn = (size_t)(q + qn - v);
            trim(&v, &vn);
            if (!msb__baggage_value_valid(v, vn)) {
                return false;
            }
            msb__buf_putc(b, '=');
            msb__buf_append(b, v, vn);
        }
    }
    return true;
}

static size_t wire_total(const msb_baggage_t *bag)
{
    size_t total = 0;
    for (size_t i = 0; i < bag->n; i++) {
        total += bag->m[i].wire_len + (i > 0 ? 1 : 0);
    }
    return total;
}

msb_status_t msb_baggage_new(msb_baggage_t **out)
{
    if (out == NULL) {
        return MSB_EINVAL;
    }
    *out = msb__calloc(1, sizeof(**out));
    return *out != NULL ? MSB_OK : MSB_ENOMEM;
}

void msb_baggage_free(msb_baggage_t *bag)
{
    if (bag == NULL) {
        return;
    }
    for (size_t i = 0; i < bag->n; i++) {
        msb__free(bag->m[i].key);
    }
    msb__free(bag->m);
    msb__free(bag);
}

static msb_status_t make_member(const char *k, size_t kn, const char *v, size_t vn,
                                const char *props, size_t pn, bag_member_t *out)
{
    char *mem = msb__malloc(kn + vn + pn + 3);
    if (mem == NULL) {
        return MSB_ENOMEM;
    }
    memcpy(mem, k, kn);
    mem[kn] = '\0';
    memcpy(mem + kn + 1, v, vn);
    mem[kn + 1 + vn] = '\0';
    memcpy(mem + kn + vn + 2, props, pn);
    mem[kn + vn + 2 + pn] = '\0';
    out->key = mem;
    out->value = mem + kn + 1;
    out->value_len = vn;
    out->props = mem + kn + vn + 2;
    out->wire_len = kn + 1 + msb__baggage_encoded_len(v, vn) + (pn > 0 ? pn + 1 : 0);
    return MSB_OK;
}

static msb_status_t push(msb_baggage_t *bag, const bag_member_t *m)
{
    if (bag->n == bag->cap) {
        size_t cap = bag->cap ? bag->cap * 2 : 8;
        bag_member_t *g = msb__realloc(bag->m, cap * sizeof(*g));
        if (g == NULL) {
            return MSB_ENOMEM;
        }
        bag->m = g;
        bag->cap = cap;
    }
    bag->m[bag->n++] = *m;
    return MSB_OK;
}

/* Parse one member into *out (allocated); MSB_EPROTO when malformed. */
static msb_status_t parse_member(const char *p, size_t n, bag_member_t *out, msb__buf_t *tmp)
{
    trim(&p, &n);
    const char *semi = memchr(p, ';', n);
    size_t kvn = semi != NULL ? (size_t)(semi - p) : n;
    const char *eq = memchr(p, '=', kvn);
    if (eq == NULL) {
        return MSB_EPROTO;
    }
    const char *k = p;
    size_t kn = (size_t)(eq - p);
    trim(&k, &kn);
    const char *v = eq + 1;
    size_t vn = kvn - (size_t)(v - p);
    trim(&v, &vn);
    if (!token_valid(k, kn) || !msb__baggage_value_valid(v, vn)) {
        return MSB_EPROTO;
    }
    msb__buf_reset(tmp);
    if (semi != NULL && !parse_props(semi + 1, n - kvn - 1, tmp)) {
        return MSB_EPROTO;
    }
    size_t props_len = tmp->len;
    msb__baggage_decode(tmp, v, vn);
    if (msb__buf_status(tmp) != MSB_OK) {
        return MSB_ENOMEM;
    }
    const char *props = tmp->data != NULL ? tmp->data : "";
    msb_status_t rc =
        make_member(k, kn, props + props_len, tmp->len - props_len, props, props_len, out);
    /* The wire length is what this member costs when sent on, as received. */
    if (rc == MSB_OK) {
        out->wire_len = kn + 1 + vn + (props_len > 0 ? props_len + 1 : 0);
    }
    return rc;
}

msb_status_t msb_baggage_parse(msb_baggage_t *bag, const char *value, size_t len, msb_error_t *err)
{
    if (bag == NULL || value == NULL) {
        return msb__err(err, MSB_EINVAL, "baggage: bag and value must not be NULL");
    }
    const char *all = value;
    size_t all_n = len;
    trim(&all, &all_n);
    if (all_n == 0) {
        return MSB_OK;
    }
    size_t first_new = bag->n;
    size_t total = wire_total(bag);
    msb__buf_t tmp = MSB__BUF_INIT;
    msb_status_t rc = MSB_OK;
    size_t start = 0;
    size_t index = 0;
    for (size_t i = 0; i <= all_n && rc == MSB_OK; i++) {
        if (i < all_n && all[i] != ',') {
            continue;
        }
        index++;
        bag_member_t m;
        rc = parse_member(all + start, i - start, &m, &tmp);
        start = i + 1;
        if (rc != MSB_OK) {
            break;
        }
        size_t add = m.wire_len + (bag->n > 0 ? 1 : 0);
        if (bag->n >= MSB_BAGGAGE_MAX_MEMBERS || total + add > MSB_BAGGAGE_MAX_BYTES) {
            msb__free(m.key); /* past a limit: dropped whole, never partially */
            bag->dropped++;
            continue;
        }
        rc = push(bag, &m);
        if (rc != MSB_OK) {
            msb__free(m.key);
        } else {
            total += add;
        }
    }
    msb__buf_free(&tmp);
    if (rc != MSB_OK) {
        while (bag->n > first_new) {
            msb__free(bag->m[--bag->n].key);
        }
        if (rc == MSB_ENOMEM) {
            return msb__err_nomem(err, "a baggage member");
        }
        return msb__err(err, MSB_EPROTO, "baggage: list-member %zu is malformed", index);
    }
    return MSB_OK;
}

static void remove_key(msb_baggage_t *bag, const char *key)
{
    size_t j = 0;
    for (size_t i = 0; i < bag->n; i++) {
        if (strcmp(bag->m[i].key, key) == 0) {
            msb__free(bag->m[i].key);
        } else {
            bag->m[j++] = bag->m[i];
        }
    }
    bag->n = j;
}

msb_status_t msb_baggage_set(msb_baggage_t *bag, const char *key, const char *value,
                             const char *properties, msb_error_t *err)
{
    if (bag == NULL || key == NULL || value == NULL) {
        return msb__err(err, MSB_EINVAL, "baggage: bag, key and value must not be NULL");
    }
    size_t kn = strlen(key);
    if (!token_valid(key, kn)) {
        return msb__err(err, MSB_EINVAL, "baggage: key \"%.64s\" is not an RFC 7230 token", key);
    }
    msb__buf_t props = MSB__BUF_INIT;
    if (properties != NULL && properties[0] != '\0' &&
        !parse_props(properties, strlen(properties), &props)) {
        msb__buf_free(&props);
        return msb__err(err, MSB_EINVAL, "baggage: properties of \"%.64s\" are malformed", key);
    }
    if (msb__buf_status(&props) != MSB_OK) {
        msb__buf_free(&props);
        return msb__err_nomem(err, "baggage properties");
    }
    bag_member_t m;
    msb_status_t rc = make_member(key, kn, value, strlen(value),
                                  props.data != NULL ? props.data : "", props.len, &m);
    msb__buf_free(&props);
    if (rc != MSB_OK) {
        return msb__err_nomem(err, "a baggage member");
    }
    size_t count = 0;
    size_t total = 0;
    for (size_t i = 0; i < bag->n; i++) {
        if (strcmp(bag->m[i].key, key) != 0) {
            total += bag->m[i].wire_len + (count > 0 ? 1 : 0);
            count++;
        }
    }
    if (count + 1 > MSB_BAGGAGE_MAX_MEMBERS ||
        total + m.wire_len + (count > 0 ? 1 : 0) > MSB_BAGGAGE_MAX_BYTES) {
        msb__free(m.key);
        return msb__err(err, MSB_ELIMIT, "baggage: \"%.64s\" would exceed %d members or %d bytes",
                        key, MSB_BAGGAGE_MAX_MEMBERS, MSB_BAGGAGE_MAX_BYTES);
    }
    remove_key(bag, key);
    rc = push(bag, &m);
    if (rc != MSB_OK) {
        msb__free(m.key);
        return msb__err_nomem(err, "a baggage member");
    }
    return MSB_OK;
}

msb_status_t msb_baggage_get(const msb_baggage_t *bag, const char *key, const char **value)
{
    if (bag == NULL || key == NULL) {
        return MSB_ENOTFOUND;
    }
    for (size_t i = 0; i < bag->n; i++) {
        if (strcmp(bag->m[i].key, key) == 0) {
            if (value != NULL) {
                *value = bag->m[i].value;
            }
            return MSB_OK;
        }
    }
    return MSB_ENOTFOUND;
}

void msb_baggage_remove(msb_baggage_t *bag, const char *key)
{
    if (bag != NULL && key != NULL) {
        remove_key(bag, key);
    }
}

size_t msb_baggage_count(const msb_baggage_t *bag)
{
    return bag != NULL ? bag->n : 0;
}

size_t msb_baggage_dropped(const msb_baggage_t *bag)
{
    return bag != NULL ? bag->dropped : 0;
}

msb_status_t msb_baggage_member(const msb_baggage_t *bag, size_t i, const char **key,
                                const char **value, const char **properties)
{
    if (bag == NULL || i >= bag->n) {
        return MSB_ERANGE;
    }
    if (key != NULL) {
        *key = bag->m[i].key;
    }
    if (value != NULL) {
        *value = bag->m[i].value;
    }
    if (properties != NULL) {
        *properties = bag->m[i].props;
    }
    return MSB_OK;
}

msb_status_t msb_baggage_format(const msb_baggage_t *bag, char **out, size_t *len)
{
    if (bag == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_reserve(&b, 1);
    for (size_t i = 0; i < bag->n; i++) {
        const bag_member_t *m = &bag->m[i];
        if (i > 0) {
            msb__buf_putc(&b, ',');
        }
        msb__buf_puts(&b, m->key);
        msb__buf_putc(&b, '=');
        msb__baggage_encode(&b, m->value, m->value_len);
        if (m->props[0] != '\0') {
            msb__buf_putc(&b, ';');
            msb__buf_puts(&b, m->props);
        }
    }
    if (msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return MSB_ENOMEM;
    }
    if (b.data != NULL) {
        b.data[b.len] = '\0';
    }
    *out = msb__buf_steal(&b, len);
    return MSB_OK;
}

void msb_trace_string_free(char *s)
{
    msb__free(s);
}
