/*
 * Where each member of a JSON document is: jansson reports the position of syntax errors but not
 * of values, so this scans the (already validated) text once and records, for every object member
 * outside arrays, its dotted path and the line of its name. Flat ("http.listen") and nested
 * ({"http": {"listen": …}}) spellings give the same path; a value set both ways is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define DEPTH_MAX 4096

typedef struct entry {
    size_t off; /* in names */
    size_t len;
    unsigned line;
    bool object;
} entry_t;

struct cfg_lines {
    msb__buf_t names; /* the paths, NUL-separated */
    entry_t *ent;
    size_t n;
    size_t cap;
};

typedef struct scan {
    const char *s;
    size_t len;
    size_t pos;
    unsigned line;
    msb__buf_t path;
    cfg_lines_t *out;
} scan_t;

static void ws(scan_t *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c == '\n') {
            sc->line++;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        sc->pos++;
    }
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (unsigned)((c | 0x20) - 'a' + 10);
        }
    }
    return v;
}

static void put_utf8(msb__buf_t *b, unsigned cp)
{
    if (cp < 0x80) {
        msb__buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        msb__buf_putc(b, (char)(0xC0 | (cp >> 6)));
        msb__buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        msb__buf_putc(b, (char)(0xE0 | (cp >> 12)));
        msb__buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        msb__buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        msb__buf_putc(b, (char)(0xF0 | (cp >> 18)));
        msb__buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        msb__buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        msb__buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* The string at sc->pos (its opening quote), decoded into out when out is not NULL. */
static msb_status_t string(scan_t *sc, msb__buf_t *out)
{
    sc->pos++;
    while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
        char c = sc->s[sc->pos];
        if (c != '\\') {
            if (out != NULL) {
                msb__buf_putc(out, c);
            }
            sc->pos++;
            continue;
        }
        if (sc->pos + 1 >= sc->len) {
            return MSB_EINVAL;
        }
        char e = sc->s[sc->pos + 1];
        sc->pos += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt";
            static const char to[] = "\"\\/\b\f\n\r\t";
            const char *at = strchr(from, e);
            if (at == NULL || e == '\0') {
                return MSB_EINVAL;
            }
            if (out != NULL) {
                msb__buf_putc(out, to[at - from]);
            }
            continue;
        }
        if (sc->pos + 4 > sc->len) {
            return MSB_EINVAL;
        }
        unsigned cp = hex4(sc->s + sc->pos);
        sc->pos += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && sc->pos + 6 <= sc->len && sc->s[sc->pos] == '\\' &&
            sc->s[sc->pos + 1] == 'u') {
            unsigned lo = hex4(sc->s + sc->pos + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                sc->pos += 6;
            }
        }
        if (out != NULL) {
            put_utf8(out, cp);
        }
    }
    if (sc->pos >= sc->len) {
        return MSB_EINVAL;
    }
    sc->pos++;
    return MSB_OK;
}

static msb_status_t record(scan_t *sc, unsigned line, bool object)
{
    cfg_lines_t *l = sc->out;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        entry_t *e = msb__realloc(l->ent, cap * sizeof(entry_t));
        if (e == NULL) {
            return MSB_ENOMEM;
        }
        l->ent = e;
        l->cap = cap;
    }
    l->ent[l->n++] = (entry_t){l->names.len, sc->path.len, line, object};
    if (sc->path.len > 0) {
        msb__buf_append(&l->names, sc->path.data, sc->path.len);
    }
    msb__buf_putc(&l->names, '\0');
    return msb__buf_status(&l->names);
}

static msb_status_t value(scan_t *sc, bool rec, int depth);

static msb_status_t container(scan_t *sc, bool rec, int depth)
{
    bool object = sc->s[sc->pos] == '{';
    char close = object ? '}' : ']';
    sc->pos++;
    ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == close) {
        sc->pos++;
        return MSB_OK;
    }
    for (;;) {
        msb_status_t rc;
        ws(sc);
        if (object) {
            size_t saved = sc->path.len;
            unsigned line = sc->line;
            if (sc->pos >= sc->len || sc->s[sc->pos] != '"') {
                return MSB_EINVAL;
            }
            if (saved > 0) {
                msb__buf_putc(&sc->path, '.');
            }
            if ((rc = string(sc, &sc->path)) != MSB_OK) {
                return rc;
            }
            ws(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos] != ':') {
                return MSB_EINVAL;
            }
            sc->pos++;
            ws(sc);
            bool child_object = sc->pos < sc->len && sc->s[sc->pos] == '{';
            if (rec && (rc = record(sc, line, child_object)) != MSB_OK) {
                return rc;
            }
            rc = value(sc, rec, depth + 1);
            sc->path.len = saved;
        } else {
            rc = value(sc, false, depth + 1);
        }
        if (rc != MSB_OK) {
            return rc;
        }
        ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
            sc->pos++;
        } else if (sc->pos < sc->len && sc->s[sc->pos] == close) {
            sc->pos++;
            return MSB_OK;
        } else {
            return MSB_EINVAL;
        }
    }
}

static msb_status_t value(scan_t *sc, bool rec, int depth)
{
    ws(sc);
    if (depth > DEPTH_MAX || sc->pos >= sc->len) {
        return MSB_EINVAL;
    }
    char c = sc->s[sc->pos];
    if (c == '{' || c == '[') {
        return container(sc, rec, depth);
    }
    if (c == '"') {
        return string(sc, NULL);
    }
    while (sc->pos < sc->len && strchr(",]} \t\r\n", sc->s[sc->pos]) == NULL) {
        sc->pos++;
    }
    return MSB_OK;
}

static int by_path(const void *a, const void *b, void *ctx)
{
    const cfg_lines_t *l = ctx;
    const entry_t *x = a;
    const entry_t *y = b;
    int c = strcmp(l->names.data + x->off, l->names.data + y->off);
    return c != 0 ? c : (x->line < y->line ? -1 : (x->line > y->line ? 1 : 0));
}

void msb__config_lines_free(cfg_lines_t *l)
{
    if (l != NULL) {
        msb__buf_free(&l->names);
        msb__free(l->ent);
        msb__free(l);
    }
}

msb_status_t msb__config_lines_new(const char *text, size_t len, const char *path,
                                   cfg_lines_t **out, msb_error_t *err)
{
    cfg_lines_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "configuration file positions");
    }
    scan_t sc = {text, len, 0, 1, MSB__BUF_INIT, l};
    msb_status_t rc = value(&sc, true, 0);
    if (rc == MSB_OK) {
        rc = msb__buf_status(&sc.path);
    }
    msb__buf_free(&sc.path);
    if (rc == MSB_ENOMEM) {
        msb__config_lines_free(l);
        return msb__err_nomem(err, "configuration file positions");
    }
    if (rc != MSB_OK) {
        msb__config_lines_free(l);
        return msb__err(err, MSB_EINTERNAL, "%s: could not scan the JSON that jansson accepted",
                        path);
    }
    if (l->n > 1) {
        qsort_r(l->ent, l->n, sizeof(entry_t), by_path, l);
    }
    for (size_t i = 0; i + 1 < l->n; i++) {
        const entry_t *a = &l->ent[i];
        const entry_t *b = &l->ent[i + 1];
        if (!a->object && !b->object &&
            strcmp(l->names.data + a->off, l->names.data + b->off) == 0) {
            rc = msb__err(err, MSB_EINVAL, "\"%s\" is set twice in %s (lines %u and %u)",
                          l->names.data + a->off, path, a->line, b->line);
            msb__config_lines_free(l);
            return rc;
        }
    }
    *out = l;
    return MSB_OK;
}

unsigned msb__config_lines_find(const cfg_lines_t *l, const char *path, size_t n)
{
    size_t lo = 0;
    size_t hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const entry_t *e = &l->ent[mid];
        int c = memcmp(l->names.data + e->off, path, e->len < n ? e->len : n);
        if (c == 0) {
            c = e->len < n ? -1 : (e->len > n ? 1 : 0);
        }
        if (c == 0) {
            return e->line;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}
