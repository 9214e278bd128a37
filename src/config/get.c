/*
 * Typed getters. The snapshot pointer is read under the read lock; the value is copied out; the
 * strings it points to are never freed before msb_config_free(), so they outlive the lock.
 */
#include <string.h>

#include "config/internal.h"
#include "core/error.h"
#include "core/str.h"

static const char *getter(msb_config_type_t t)
{
    static const char *const names[] = {"",     "string",   "int",  "double",
                                        "bool", "duration", "size", "list"};
    return (unsigned)t < MSB_ARRAY_LEN(names) ? names[t] : "";
}

/* The key's index, after checking that cfg is loaded and the key declared. */
static msb_status_t find(const msb_config_t *cfg, const char *key, size_t *index, msb_error_t *err)
{
    *index = SIZE_MAX;
    if (cfg == NULL || key == NULL) {
        msb__err(err, MSB_EINVAL, "config: cfg or key is NULL");
        return MSB_EINVAL;
    }
    if (!cfg->loaded) {
        msb__err(err, MSB_EINVAL, "config: not loaded; call msb_config_load first");
        return MSB_EINVAL;
    }
    size_t n = strlen(key);
    *index = msb__config_find(cfg, key, n);
    if (*index == SIZE_MAX) {
        char near[CFG_KEY_MAX + 8];
        if (msb__config_suggest(cfg, key, n, near, sizeof(near))) {
            msb__err(err, MSB_ENOTFOUND, "config: no key \"%s\" is declared; did you mean \"%s\"?",
                     key, near);
        } else {
            msb__err(err, MSB_ENOTFOUND, "config: no key \"%s\" is declared", key);
        }
        return MSB_ENOTFOUND;
    }
    return MSB_OK;
}

static msb_status_t lookup(const msb_config_t *cfg, const char *key, msb_config_type_t want,
                           cfg_value_t *out, msb_error_t *err)
{
    size_t i;
    memset(out, 0, sizeof(*out));
    msb_status_t rc = find(cfg, key, &i, err);
    if (rc != MSB_OK) {
        return rc;
    }
    const cfg_key_t *k = &cfg->keys[i];
    if (k->type != want) {
        msb__err(err, MSB_EINVAL, "config: %s has type %s, not %s: read it with msb_config_get_%s",
                 key, getter(k->type), getter(want), getter(k->type));
        return MSB_EINVAL;
    }
    msb_config_t *m = (msb_config_t *)cfg;
    pthread_rwlock_rdlock(&m->lock);
    *out = cfg->snap->values[i];
    pthread_rwlock_unlock(&m->lock);
    if (out->layer == MSB_CONFIG_LAYER_NONE) {
        msb__err(err, MSB_ENOTFOUND, "config: %s is not set and has no default", key);
        return MSB_ENOTFOUND;
    }
    return MSB_OK;
}

msb_status_t msb_config_get_string(const msb_config_t *cfg, const char *key, const char **out,
                                   msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_STRING, &v, err);
    if (rc == MSB_OK) {
        *out = v.v.s;
    }
    return rc;
}

msb_status_t msb_config_get_int(const msb_config_t *cfg, const char *key, int64_t *out,
                                msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_INT, &v, err);
    if (rc == MSB_OK) {
        *out = v.v.i;
    }
    return rc;
}

msb_status_t msb_config_get_double(const msb_config_t *cfg, const char *key, double *out,
                                   msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_DOUBLE, &v, err);
    if (rc == MSB_OK) {
        *out = v.v.d;
    }
    return rc;
}

msb_status_t msb_config_get_bool(const msb_config_t *cfg, const char *key, bool *out,
                                 msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_BOOL, &v, err);
    if (rc == MSB_OK) {
        *out = v.v.b;
    }
    return rc;
}

msb_status_t msb_config_get_duration(const msb_config_t *cfg, const char *key, int64_t *out_ns,
                                     msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_DURATION, &v, err);
    if (rc == MSB_OK) {
        *out_ns = v.v.i;
    }
    return rc;
}

msb_status_t msb_config_get_size(const msb_config_t *cfg, const char *key, uint64_t *out,
                                 msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_SIZE, &v, err);
    if (rc == MSB_OK) {
        *out = v.v.u;
    }
    return rc;
}

msb_status_t msb_config_get_list(const msb_config_t *cfg, const char *key, msb_config_list_t *out,
                                 msb_error_t *err)
{
    cfg_value_t v;
    msb_status_t rc = lookup(cfg, key, MSB_CONFIG_LIST, &v, err);
    if (rc == MSB_OK) {
        *out = *v.v.list;
    }
    return rc;
}

msb_status_t msb_config_get_source(const msb_config_t *cfg, const char *key,
                                   msb_config_layer_t *layer, char *buf, size_t size,
                                   msb_error_t *err)
{
    size_t i;
    msb_status_t rc = find(cfg, key, &i, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_config_t *m = (msb_config_t *)cfg;
    pthread_rwlock_rdlock(&m->lock);
    const cfg_value_t *v = &cfg->snap->values[i];
    if (layer != NULL) {
        *layer = v->layer;
    }
    if (buf != NULL && size > 0) {
        msb__strlcpy(buf, msb__config_source(cfg->snap, v), size);
    }
    pthread_rwlock_unlock(&m->lock);
    return MSB_OK;
}

msb_status_t msb_config_parse_duration(const char *text, int64_t *out_ns, msb_error_t *err)
{
    char why[CFG_WHY_MAX];
    if (text == NULL || out_ns == NULL) {
        return msb__err(err, MSB_EINVAL, "config: text or out_ns is NULL");
    }
    msb_status_t rc = msb__config_parse_duration(text, strlen(text), out_ns, why);
    return rc == MSB_OK ? rc : msb__err(err, rc, "%s", why);
}

msb_status_t msb_config_parse_size(const char *text, uint64_t *out, msb_error_t *err)
{
    char why[CFG_WHY_MAX];
    if (text == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "config: text or out is NULL");
    }
    msb_status_t rc = msb__config_parse_size(text, strlen(text), out, why);
    return rc == MSB_OK ? rc : msb__err(err, rc, "%s", why);
}
