/*
 * Typed values: a raw value (text or JSON) becomes a key's value, checked against its bounds and
 * choices. String and list values live in blobs (see internal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/str.h"

MSB_PRINTF(2, 3)
static msb_status_t why_set(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CFG_WHY_MAX, fmt, ap);
    va_end(ap);
    return MSB_EINVAL;
}

static cfg_blob_t *blob_new(size_t bytes)
{
    if (bytes > SIZE_MAX - sizeof(cfg_blob_t)) {
        return NULL;
    }
    cfg_blob_t *b = msb__malloc(sizeof(cfg_blob_t) + bytes);
    if (b != NULL) {
        b->next = NULL;
    }
    return b;
}

void msb__config_blob_free_all(cfg_blob_t *b)
{
    while (b != NULL) {
        cfg_blob_t *next = b->next;
        msb__free(b);
        b = next;
    }
}

/* A list blob from `count` NUL-terminated items packed in items[0..len). */
static msb_status_t list_blob(const char *items, size_t len, size_t count, cfg_blob_t **out)
{
    size_t head = sizeof(msb_config_list_t) + (count + 1) * sizeof(char *);
    if (count > (SIZE_MAX / 2) / sizeof(char *) || len > SIZE_MAX / 2 - head) {
        return MSB_ENOMEM;
    }
    cfg_blob_t *b = blob_new(head + len);
    if (b == NULL) {
        return MSB_ENOMEM;
    }
    msb_config_list_t *l = (msb_config_list_t *)(void *)b->data;
    const char **ptrs = (const char **)(void *)((char *)b->data + sizeof(msb_config_list_t));
    char *text = (char *)b->data + head;
    if (len > 0) {
        memcpy(text, items, len);
    }
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        ptrs[i] = text + at;
        at += strlen(text + at) + 1;
    }
    ptrs[count] = NULL;
    l->items = ptrs;
    l->count = count;
    *out = b;
    return MSB_OK;
}

msb_status_t msb__config_parse_list(const char *s, size_t n, cfg_blob_t **out, char *why)
{
    msb__buf_t items = MSB__BUF_INIT;
    size_t count = 0;
    size_t i = 0;
    msb__config_trim(&s, &n);
    while (n > 0 && i <= n) {
        size_t start = items.len;
        while (i < n && s[i] != ',') {
            if (s[i] == '\\') {
                if (i + 1 >= n || (s[i + 1] != ',' && s[i + 1] != '\\')) {
                    msb__buf_free(&items);
                    return why_set(why, "a backslash in a list must be followed by , or \\ "
                                        "(write \\, for a comma inside an item)");
                }
                i++;
            }
            msb__buf_putc(&items, s[i]);
            i++;
        }
        if (msb__buf_status(&items) != MSB_OK) {
            break;
        }
        /* trim the item (nothing may have been appended yet: data may still be NULL) */
        size_t il = items.len - start;
        const char *it = il > 0 ? items.data + start : "";
        size_t lead = 0;
        while (lead < il && (it[lead] == ' ' || it[lead] == '\t')) {
            lead++;
        }
        while (il > lead && (it[il - 1] == ' ' || it[il - 1] == '\t')) {
            il--;
        }
        if (il == lead) {
            msb__buf_free(&items);
            return why_set(why, "empty item %zu in a comma-separated list", count + 1);
        }
        if (lead > 0) {
            memmove(items.data + start, items.data + start + lead, il - lead);
        }
        items.len = start + il - lead;
        msb__buf_putc(&items, '\0');
        count++;
        i++; /* past the comma (or the end) */
    }
    msb_status_t rc = msb__buf_status(&items);
    if (rc == MSB_OK) {
        rc = list_blob(items.data != NULL ? items.data : "", items.len, count, out);
    }
    msb__buf_free(&items);
    return rc;
}

static msb_status_t json_list(const json_t *a, cfg_blob_t **out, char *why)
{
    msb__buf_t items = MSB__BUF_INIT;
    size_t count = json_array_size(a);
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            msb__buf_free(&items);
            return why_set(why, "item %zu of the array is not a string", i + 1);
        }
        msb__buf_append(&items, json_string_value(e), json_string_length(e));
        msb__buf_putc(&items, '\0');
    }
    msb_status_t rc = msb__buf_status(&items);
    if (rc == MSB_OK) {
        rc = list_blob(items.data != NULL ? items.data : "", items.len, count, out);
    }
    msb__buf_free(&items);
    return rc;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static msb_status_t string_value(const char *s, size_t n, cfg_value_t *out)
{
    cfg_blob_t *b = blob_new(n + 1);
    if (b == NULL) {
        return MSB_ENOMEM;
    }
    memcpy(b->data, s, n);
    ((char *)b->data)[n] = '\0';
    out->blob = b;
    out->v.s = (const char *)b->data;
    return MSB_OK;
}

/* A JSON value that is not a string, typed; MSB_EEXIST when the type wants its text form. */
static msb_status_t coerce_json(const cfg_key_t *k, const json_t *j, cfg_value_t *out, char *why)
{
    const char *expected = msb__config_type_name(k->type);
    switch (k->type) {
    case MSB_CONFIG_INT:
        if (json_is_integer(j)) {
            out->v.i = (int64_t)json_integer_value(j);
            return MSB_OK;
        }
        break;
    case MSB_CONFIG_DOUBLE:
        if (json_is_number(j)) {
            out->v.d = json_number_value(j);
            return MSB_OK;
        }
        break;
    case MSB_CONFIG_BOOL:
        if (json_is_boolean(j)) {
            out->v.b = json_is_true(j);
            return MSB_OK;
        }
        break;
    case MSB_CONFIG_SIZE:
        if (json_is_integer(j)) {
            if (json_integer_value(j) < 0) {
                return why_set(why, "negative sizes are not allowed, got %lld",
                               (long long)json_integer_value(j));
            }
            out->v.u = (uint64_t)json_integer_value(j);
            return MSB_OK;
        }
        break;
    case MSB_CONFIG_DURATION:
        if (json_is_integer(j) && json_integer_value(j) == 0) {
            out->v.i = 0;
            return MSB_OK;
        }
        if (json_is_number(j)) {
            return why_set(why, "a duration needs a unit: write it as a string such as "
                                "\"30s\" or \"250ms\"");
        }
        break;
    case MSB_CONFIG_LIST:
        if (json_is_array(j)) {
            return json_list(j, &out->blob, why);
        }
        break;
    default:
        break;
    }
    return why_set(why, "expected %s, got %s", expected, json_kind(j));
}

static msb_status_t coerce_text(const cfg_key_t *k, const char *s, size_t n, cfg_value_t *out,
                                char *why)
{
    switch (k->type) {
    case MSB_CONFIG_STRING:
        if (memchr(s, '\0', n) != NULL) {
            return why_set(why, "the value contains a NUL byte");
        }
        return string_value(s, n, out);
    case MSB_CONFIG_INT:
        return msb__config_parse_int(s, n, &out->v.i, why);
    case MSB_CONFIG_DOUBLE:
        return msb__config_parse_double(s, n, &out->v.d, why);
    case MSB_CONFIG_BOOL:
        return msb__config_parse_bool(s, n, &out->v.b, why);
    case MSB_CONFIG_DURATION:
        return msb__config_parse_duration(s, n, &out->v.i, why);
    case MSB_CONFIG_SIZE:
        return msb__config_parse_size(s, n, &out->v.u, why);
    case MSB_CONFIG_LIST:
        if (memchr(s, '\0', n) != NULL) {
            return why_set(why, "the value contains a NUL byte");
        }
        return msb__config_parse_list(s, n, &out->blob, why);
    }
    return why_set(why, "unknown type");
}

/* The value as text for a bound message ("10m", "65535"). */
static void bound_text(const cfg_key_t *k, const cfg_value_t *v, char *buf, size_t size)
{
    switch (k->type) {
    case MSB_CONFIG_DURATION:
        msb__config_format_duration(v->v.i, buf, size);
        break;
    case MSB_CONFIG_SIZE:
        msb__config_format_size(v->v.u, buf, size);
        break;
    case MSB_CONFIG_DOUBLE:
        msb__format_double(buf, size, v->v.d);
        break;
    default:
        snprintf(buf, size, "%lld", (long long)v->v.i);
        break;
    }
}

/* -1, 0, 1: a below, equal to, above b (numeric types). */
static int compare(msb_config_type_t t, const cfg_value_t *a, const cfg_value_t *b)
{
    switch (t) {
    case MSB_CONFIG_SIZE:
        return a->v.u < b->v.u ? -1 : (a->v.u > b->v.u ? 1 : 0);
    case MSB_CONFIG_DOUBLE:
        return a->v.d < b->v.d ? -1 : (a->v.d > b->v.d ? 1 : 0);
    default:
        return a->v.i < b->v.i ? -1 : (a->v.i > b->v.i ? 1 : 0);
    }
}

static msb_status_t check(const cfg_key_t *k, const cfg_value_t *v, char *why)
{
    char val[64];
    if (k->has_min && compare(k->type, v, &k->min) < 0) {
        bound_text(k, v, val, sizeof(val));
        why_set(why, "%s is below the minimum %s", val, k->min_text);
        return MSB_ERANGE;
    }
    if (k->has_max && compare(k->type, v, &k->max) > 0) {
        bound_text(k, v, val, sizeof(val));
        why_set(why, "%s is above the maximum %s", val, k->max_text);
        return MSB_ERANGE;
    }
    if (k->choices != NULL && k->type == MSB_CONFIG_STRING && v->v.s != NULL) {
        size_t n = strlen(v->v.s);
        const char *w = k->choices;
        while (*w != '\0') {
            const char *end = strchr(w, '|');
            size_t len = end != NULL ? (size_t)(end - w) : strlen(w);
            if (len == n && memcmp(w, v->v.s, n) == 0) {
                return MSB_OK;
            }
            w += len + (end != NULL ? 1 : 0);
        }
        char q[112];
        char hint[CFG_KEY_MAX + 32] = "";
        char near[CFG_KEY_MAX];
        msb__config_quote(v->v.s, n, q, sizeof(q));
        if (msb__config_suggest_word(k->choices, v->v.s, n, near, sizeof(near))) {
            snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", near);
        }
        char list[CFG_WHY_MAX / 2];
        msb__config_words(k->choices, list, sizeof(list));
        return why_set(why, "%s is not one of %s%s", q, list, hint);
    }
    return MSB_OK;
}

msb_status_t msb__config_coerce(const cfg_key_t *k, const cfg_raw_t *raw, cfg_value_t *out,
                                char *why)
{
    cfg_value_t v;
    memset(&v, 0, sizeof(v));
    msb_status_t rc;
    if (raw->json != NULL && !json_is_string(raw->json)) {
        rc = coerce_json(k, raw->json, &v, why);
    } else if (raw->json != NULL) {
        rc = coerce_text(k, json_string_value(raw->json), json_string_length(raw->json), &v, why);
    } else {
        rc = coerce_text(k, raw->text, raw->len, &v, why);
    }
    if (rc == MSB_OK && k->type == MSB_CONFIG_LIST) {
        v.v.list = (const msb_config_list_t *)(const void *)v.blob->data;
    }
    if (rc == MSB_OK) {
        rc = check(k, &v, why);
    }
    if (rc != MSB_OK) {
        msb__free(v.blob);
        return rc;
    }
    *out = v;
    return MSB_OK;
}

bool msb__config_value_equal(msb_config_type_t t, const cfg_value_t *a, const cfg_value_t *b)
{
    if ((a->layer == MSB_CONFIG_LAYER_NONE) != (b->layer == MSB_CONFIG_LAYER_NONE)) {
        return false;
    }
    if (a->layer == MSB_CONFIG_LAYER_NONE) {
        return true;
    }
    switch (t) {
    case MSB_CONFIG_STRING:
        return strcmp(a->v.s, b->v.s) == 0;
    case MSB_CONFIG_BOOL:
        return a->v.b == b->v.b;
    case MSB_CONFIG_DOUBLE:
        return a->v.d == b->v.d; /* finite: NaN is never a value */
    case MSB_CONFIG_SIZE:
        return a->v.u == b->v.u;
    case MSB_CONFIG_LIST:
        if (a->v.list->count != b->v.list->count) {
            return false;
        }
        for (size_t i = 0; i < a->v.list->count; i++) {
            if (strcmp(a->v.list->items[i], b->v.list->items[i]) != 0) {
                return false;
            }
        }
        return true;
    default:
        return a->v.i == b->v.i;
    }
}

void msb__config_words(const char *words, char *out, size_t size)
{
    size_t o = 0;
    for (const char *w = words; *w != '\0' && o + 3 < size; w++) {
        if (*w == '|') {
            out[o++] = ',';
            out[o++] = ' ';
        } else {
            out[o++] = *w;
        }
    }
    if (size > 0) {
        out[o < size ? o : size - 1] = '\0';
    }
}

void msb__config_value_text(msb__buf_t *out, const cfg_key_t *k, const cfg_value_t *v)
{
    char tmp[64];
    switch (k->type) {
    case MSB_CONFIG_STRING:
        msb__buf_put_json_str(out, v->v.s, strlen(v->v.s));
        break;
    case MSB_CONFIG_INT:
        msb__buf_put_i64(out, v->v.i);
        break;
    case MSB_CONFIG_DOUBLE:
        msb__buf_put_double_json(out, v->v.d);
        break;
    case MSB_CONFIG_BOOL:
        msb__buf_puts(out, v->v.b ? "true" : "false");
        break;
    case MSB_CONFIG_DURATION:
        msb__config_format_duration(v->v.i, tmp, sizeof(tmp));
        msb__buf_puts(out, tmp);
        break;
    case MSB_CONFIG_SIZE:
        msb__config_format_size(v->v.u, tmp, sizeof(tmp));
        msb__buf_puts(out, tmp);
        break;
    case MSB_CONFIG_LIST:
        msb__buf_putc(out, '[');
        for (size_t i = 0; i < v->v.list->count; i++) {
            msb__buf_puts(out, i > 0 ? ", " : "");
            msb__buf_put_json_str(out, v->v.list->items[i], strlen(v->v.list->items[i]));
        }
        msb__buf_putc(out, ']');
        break;
    }
}
