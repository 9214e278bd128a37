/*
 * The file layer: a JSON object whose nested objects are sections ({"http": {"listen": …}} is
 * http.listen); member names may also be dotted paths ({"http.listen": …}). null puts a key back
 * to its default (a profile overlay can remove what the base file set). Relative paths of *_file
 * keys are resolved against the file's directory.
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct walk {
    cfg_build_t *b;
    const char *file;
    char *dir;
    cfg_lines_t *lines;
    msb__buf_t key; /* dotted path of the member being visited */
} walk_t;

static msb_status_t unknown(walk_t *w, const char *what, unsigned line, msb_error_t *err)
{
    char near[CFG_KEY_MAX + 8];
    const char *k = w->key.data;
    char where[CFG_KEY_MAX * 2];
    snprintf(where, sizeof(where), "%s:%u", w->file, line);
    if (msb__config_suggest(w->b->cfg, k, w->key.len, near, sizeof(near))) {
        return msb__err(err, MSB_EINVAL, "unknown %s \"%s\" (from %s); did you mean \"%s\"?", what,
                        k, where, near);
    }
    return msb__err(err, MSB_EINVAL, "unknown %s \"%s\" (from %s)", what, k, where);
}

static msb_status_t members(walk_t *w, const json_t *obj, int depth, msb_error_t *err);

static msb_status_t member(walk_t *w, const char *name, const json_t *v, int depth,
                           msb_error_t *err)
{
    const msb_config_t *cfg = w->b->cfg;
    size_t saved = w->key.len;
    if (saved > 0) {
        msb__buf_putc(&w->key, '.');
    }
    msb__buf_puts(&w->key, name);
    if (msb__buf_status(&w->key) != MSB_OK) {
        return msb__err_nomem(err, "a configuration key");
    }
    const char *k = w->key.data;
    size_t n = w->key.len;
    unsigned line = msb__config_lines_find(w->lines, k, n);
    size_t key;
    bool file_ref;
    msb_status_t rc = MSB_OK;
    size_t inside = msb__config_section_key(cfg, k, n);
    if (!msb__config_resolve(cfg, k, n, &key, &file_ref)) {
        if (json_is_object(v) && (json_object_size(v) > 0 || inside != SIZE_MAX)) {
            rc = members(w, v, depth + 1, err);
        } else if (json_is_object(v)) {
            rc = unknown(w, "section", line, err);
        } else if (inside != SIZE_MAX) {
            const char *child = cfg->keys[inside].name + n + 1;
            const char *dot = strchr(child, '.');
            int cl = dot != NULL ? (int)(dot - child) : (int)strlen(child);
            rc = msb__err(err, MSB_EINVAL,
                          "\"%s\" is a section, not a value: write an object such as "
                          "{\"%.*s\": …} (from %s:%u)",
                          k, cl, child, w->file, line);
        } else {
            rc = unknown(w, "key", line, err);
        }
    } else if ((cfg->keys[key].flags & CFG_META) != 0) {
        rc = msb__err(err, MSB_EINVAL,
                      "\"%s\" cannot be set in a configuration file; use --%s or the environment "
                      "(from %s:%u)",
                      k, cfg->keys[key].name, w->file, line);
    } else if (json_is_null(v)) {
        msb__config_unset(w->b, key);
    } else {
        cfg_origin_t o = {MSB_CONFIG_LAYER_FILE, w->file, strlen(w->file), line, w->dir};
        cfg_raw_t raw = {NULL, 0, v};
        rc = msb__config_assign(w->b, key, file_ref, &raw, &o, err);
    }
    w->key.len = saved;
    w->key.data[saved] = '\0';
    return rc;
}

static msb_status_t members(walk_t *w, const json_t *obj, int depth, msb_error_t *err)
{
    const char *name;
    json_t *v;
    if (depth > CFG_KEY_MAX) {
        return msb__err(err, MSB_EINVAL, "%s: objects nested deeper than any key", w->file);
    }
    json_object_foreach((json_t *)obj, name, v)
    {
        msb_status_t rc = member(w, name, v, depth, err);
        if (rc != MSB_OK) {
            return rc;
        }
    }
    return MSB_OK;
}

msb_status_t msb__config_json_apply(cfg_build_t *b, const char *text, size_t len, const char *path,
                                    msb_error_t *err)
{
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* a UTF-8 byte order mark, as some editors write */
        len -= 3;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return msb__err_nomem(err, "the configuration file");
        }
        return msb__err(err, MSB_EINVAL, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
                        jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return msb__err(err, MSB_EINVAL, "%s: the top level must be a JSON object {…}", path);
    }
    walk_t w = {b, path, NULL, NULL, MSB__BUF_INIT};
    msb_status_t rc = msb__config_lines_new(text, len, path, &w.lines, err);
    if (rc == MSB_OK) {
        w.dir = msb__config_dirname(path);
        if (w.dir == NULL) {
            rc = msb__err_nomem(err, "a directory name");
        }
    }
    if (rc == MSB_OK) {
        rc = members(&w, root, 0, err);
    }
    json_decref(root);
    msb__config_lines_free(w.lines);
    msb__free(w.dir);
    msb__buf_free(&w.key);
    return rc;
}
