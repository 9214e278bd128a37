/*
 * Building a snapshot: defaults, then the file and its profile overlay, the environment and the
 * command line, each assigning over the previous; *_file keys read their value from a file.
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define STAMP_PLAIN 1u
#define STAMP_FILE  2u

void msb__config_snapshot_free(cfg_snapshot_t *s)
{
    if (s == NULL) {
        return;
    }
    msb__buf_free(&s->sources);
    msb__free(s->values);
    msb__free(s);
}

static void snapshot_discard(cfg_snapshot_t *s, size_t n)
{
    if (s != NULL && s->values != NULL) {
        for (size_t i = 0; i < n; i++) {
            msb__free(s->values[i].blob);
        }
    }
    msb__config_snapshot_free(s);
}

void msb__config_retain(msb_config_t *cfg, cfg_snapshot_t *s)
{
    for (size_t i = 0; i < cfg->nkeys; i++) {
        cfg_blob_t *b = s->values[i].blob;
        if (b != NULL) {
            b->next = cfg->retained;
            cfg->retained = b;
            s->values[i].blob = NULL;
        }
    }
}

const char *msb__config_source(const cfg_snapshot_t *s, const cfg_value_t *v)
{
    switch (v->layer) {
    case MSB_CONFIG_LAYER_NONE:
        return "unset";
    case MSB_CONFIG_LAYER_DEFAULT:
        return "default";
    default:
        return s->sources.data + v->source;
    }
}

msb_status_t msb__config_build_begin(msb_config_t *cfg, cfg_build_t *b, msb_error_t *err)
{
    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
    b->snap = msb__calloc(1, sizeof(cfg_snapshot_t));
    if (b->snap != NULL) {
        b->snap->values = msb__calloc(cfg->nkeys, sizeof(cfg_value_t));
    }
    b->stamp = msb__calloc(cfg->nkeys, sizeof(unsigned));
    if (b->snap == NULL || b->snap->values == NULL || b->stamp == NULL) {
        msb__config_build_abort(b);
        return msb__err_nomem(err, "a configuration snapshot");
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        b->snap->values[i] = cfg->keys[i].def;
    }
    return MSB_OK;
}

void msb__config_build_abort(cfg_build_t *b)
{
    snapshot_discard(b->snap, b->cfg->nkeys);
    msb__free(b->stamp);
    b->snap = NULL;
    b->stamp = NULL;
}

void msb__config_build_pass(cfg_build_t *b)
{
    b->pass++;
}

void msb__config_unset(cfg_build_t *b, size_t key)
{
    cfg_value_t *slot = &b->snap->values[key];
    msb__free(slot->blob);
    *slot = b->cfg->keys[key].def;
}

/* "MSB_X", "--x", "path:12"; `file` adds " (file PATH)". */
static size_t add_source(cfg_build_t *b, const cfg_origin_t *o, const char *file)
{
    msb__buf_t *s = &b->snap->sources;
    size_t at = s->len;
    msb__buf_append(s, o->name, o->len);
    if (o->layer == MSB_CONFIG_LAYER_FILE && o->line > 0) {
        msb__buf_printf(s, ":%u", o->line);
    }
    if (file != NULL) {
        msb__buf_printf(s, " (file %s)", file);
    }
    msb__buf_putc(s, '\0');
    return at;
}

static void origin_text(const cfg_origin_t *o, char *out, size_t size)
{
    if (o->layer == MSB_CONFIG_LAYER_FILE && o->line > 0) {
        snprintf(out, size, "%.*s:%u", (int)o->len, o->name, o->line);
    } else {
        snprintf(out, size, "%.*s", (int)o->len, o->name);
    }
}

/* Read the value of a *_file key; *text new. */
static msb_status_t read_secret(cfg_build_t *b, const cfg_key_t *k, const cfg_raw_t *raw,
                                const cfg_origin_t *o, char **path, char **text, size_t *len,
                                msb_error_t *err)
{
    char where[160];
    char why[CFG_WHY_MAX];
    origin_text(o, where, sizeof(where));
    const char *p = raw->text;
    size_t pl = raw->len;
    if (raw->json != NULL) {
        if (!json_is_string(raw->json)) {
            return msb__err(err, MSB_EINVAL, "%s_file: expected a file path string (from %s)",
                            k->name, where);
        }
        p = json_string_value(raw->json);
        pl = json_string_length(raw->json);
    }
    if (pl == 0 || memchr(p, '\0', pl) != NULL) {
        return msb__err(err, MSB_EINVAL,
                        "%s_file: expected a file path, got an empty value "
                        "(from %s)",
                        k->name, where);
    }
    *path = msb__config_path_join(o->base_dir, p, pl);
    if (*path == NULL) {
        return msb__err_nomem(err, "a file path");
    }
    msb_status_t rc = msb__config_read_file(*path, b->cfg->secret_max, text, len, why);
    if (rc != MSB_OK) {
        return msb__err(err, rc, "%s: %s (from %s)", k->name, why, where);
    }
    while (*len > 0 && ((*text)[*len - 1] == '\n' || (*text)[*len - 1] == '\r')) {
        (*len)--;
    }
    (*text)[*len] = '\0';
    if (*len == 0) {
        return msb__err(err, MSB_EINVAL, "%s: %s is empty (from %s)", k->name, *path, where);
    }
    if (memchr(*text, '\0', *len) != NULL) {
        return msb__err(err, MSB_EINVAL, "%s: %s contains a NUL byte (from %s)", k->name, *path,
                        where);
    }
    return MSB_OK;
}

/* KEY and KEY_file in the same pass (one file, the environment, the command line). */
static msb_status_t same_pass(cfg_build_t *b, size_t key, bool file_ref, const cfg_origin_t *o,
                              msb_error_t *err)
{
    unsigned bit = file_ref ? STAMP_FILE : STAMP_PLAIN;
    unsigned *st = &b->stamp[key];
    if (*st >> 2 != b->pass) {
        *st = b->pass << 2;
    }
    *st |= bit;
    if ((*st & (STAMP_PLAIN | STAMP_FILE)) == (STAMP_PLAIN | STAMP_FILE)) {
        char where[160];
        origin_text(o, where, sizeof(where));
        const char *name = b->cfg->keys[key].name;
        return msb__err(err, MSB_EINVAL, "%s and %s_file are both set; set only one (at %s)", name,
                        name, where);
    }
    return MSB_OK;
}

msb_status_t msb__config_assign(cfg_build_t *b, size_t key, bool file_ref, const cfg_raw_t *raw,
                                const cfg_origin_t *o, msb_error_t *err)
{
    const cfg_key_t *k = &b->cfg->keys[key];
    if (file_ref && (k->flags & CFG_META) != 0) {
        char where[160];
        origin_text(o, where, sizeof(where));
        return msb__err(err, MSB_EINVAL, "%s cannot be read from a file; set %s itself (at %s)",
                        k->name, k->name, where);
    }
    msb_status_t rc = same_pass(b, key, file_ref, o, err);
    if (rc != MSB_OK) {
        return rc;
    }
    char *path = NULL;
    char *text = NULL;
    size_t len = 0;
    cfg_raw_t secret;
    if (file_ref) {
        rc = read_secret(b, k, raw, o, &path, &text, &len, err);
        if (rc != MSB_OK) {
            msb__free(path);
            msb__free(text);
            return rc;
        }
        secret = (cfg_raw_t){text, len, NULL};
        raw = &secret;
    }
    char why[CFG_WHY_MAX];
    cfg_value_t v;
    rc = msb__config_coerce(k, raw, &v, why);
    msb__free(text);
    if (rc == MSB_ENOMEM) {
        msb__free(path);
        return msb__err(err, rc, "out of memory storing %s", k->name);
    }
    if (rc != MSB_OK) {
        char where[160];
        origin_text(o, where, sizeof(where));
        if ((k->flags & MSB_CONFIG_SECRET) != 0) {
            msb__err(err, rc,
                     "%s: invalid value (not shown: the key is secret); expected %s "
                     "(from %s%s%s)",
                     k->name, msb__config_type_name(k->type), where, path ? ", file " : "",
                     path ? path : "");
        } else {
            msb__err(err, rc, "%s: %s (from %s%s%s)", k->name, why, where, path ? ", file " : "",
                     path ? path : "");
        }
        msb__free(path);
        return rc;
    }
    v.layer = o->layer;
    v.source = add_source(b, o, path);
    msb__free(path);
    if (msb__buf_status(&b->snap->sources) != MSB_OK) {
        msb__free(v.blob);
        return msb__err_nomem(err, "a configuration source");
    }
    msb__free(b->snap->values[key].blob);
    b->snap->values[key] = v;
    return MSB_OK;
}
