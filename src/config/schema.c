/* Declaring keys: msb_config_add_keys() checks a table and merges it into the sorted schema. */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define CFG_NEW 0x200u /* added by the current call, while it runs */

static bool valid_choices(const char *c)
{
    size_t word = 0;
    for (; *c != '\0'; c++) {
        if (*c == '|') {
            if (word == 0) {
                return false;
            }
            word = 0;
        } else {
            word++;
        }
    }
    return word > 0;
}

static bool numeric(msb_config_type_t t)
{
    return t == MSB_CONFIG_INT || t == MSB_CONFIG_DOUBLE || t == MSB_CONFIG_DURATION ||
           t == MSB_CONFIG_SIZE;
}

/* Whether a > b, for the numeric types. */
static bool above(msb_config_type_t t, const cfg_value_t *a, const cfg_value_t *b)
{
    switch (t) {
    case MSB_CONFIG_SIZE:
        return a->v.u > b->v.u;
    case MSB_CONFIG_DOUBLE:
        return a->v.d > b->v.d;
    default:
        return a->v.i > b->v.i;
    }
}

/* Parse a bound written in the key's syntax. */
static msb_status_t bound(cfg_key_t *k, const char *text, const char *which, cfg_value_t *out,
                          msb_error_t *err)
{
    cfg_key_t plain = *k;
    plain.has_min = false;
    plain.has_max = false;
    plain.choices = NULL;
    char why[CFG_WHY_MAX];
    cfg_raw_t raw = {text, strlen(text), NULL};
    msb_status_t rc = msb__config_coerce(&plain, &raw, out, why);
    if (rc != MSB_OK) {
        return msb__err(err, rc == MSB_ENOMEM ? MSB_ENOMEM : MSB_EINVAL, "config: %s of %s: %s",
                        which, k->name, why);
    }
    return MSB_OK;
}

/* Check one entry of a table and fill k (k->def_blob new). */
static msb_status_t declare(const msb_config_key_t *in, unsigned extra, cfg_key_t *k,
                            msb_error_t *err)
{
    memset(k, 0, sizeof(*k));
    if (in->name == NULL || !msb__config_valid_name(in->name, strlen(in->name))) {
        return msb__err(err, MSB_EINVAL,
                        "config: key name \"%s\" is invalid: use lower-case segments "
                        "[a-z0-9] (words joined by single _) separated by dots, at most %d bytes",
                        in->name != NULL ? in->name : "(null)", CFG_KEY_MAX);
    }
    k->name = in->name;
    k->len = strlen(in->name);
    if (in->type < MSB_CONFIG_STRING || in->type > MSB_CONFIG_LIST) {
        return msb__err(err, MSB_EINVAL, "config: %s: type %d is not a msb_config_type_t", k->name,
                        (int)in->type);
    }
    if ((in->flags & ~CFG_PUBLIC_FLAGS) != 0) {
        return msb__err(err, MSB_EINVAL, "config: %s: unknown flags 0x%x", k->name,
                        in->flags & ~CFG_PUBLIC_FLAGS);
    }
    if ((in->flags & MSB_CONFIG_REQUIRED) != 0 && in->default_value != NULL) {
        return msb__err(err, MSB_EINVAL, "config: %s: a required key cannot have a default",
                        k->name);
    }
    if ((in->min != NULL || in->max != NULL) && !numeric(in->type)) {
        return msb__err(err, MSB_EINVAL,
                        "config: %s: min and max apply only to integer, number, duration and "
                        "size keys",
                        k->name);
    }
    if (in->choices != NULL && (in->type != MSB_CONFIG_STRING || !valid_choices(in->choices))) {
        return msb__err(err, MSB_EINVAL,
                        "config: %s: choices must be non-empty words separated by | on a "
                        "string key",
                        k->name);
    }
    k->type = in->type;
    k->flags = in->flags | extra;
    k->description = in->description != NULL ? in->description : "";
    k->default_text = in->default_value;
    k->min_text = in->min;
    k->max_text = in->max;
    k->choices = in->choices;
    msb_status_t rc;
    if (in->min != NULL && (rc = bound(k, in->min, "min", &k->min, err)) != MSB_OK) {
        return rc;
    }
    if (in->max != NULL && (rc = bound(k, in->max, "max", &k->max, err)) != MSB_OK) {
        return rc;
    }
    k->has_min = in->min != NULL;
    k->has_max = in->max != NULL;
    if (k->has_min && k->has_max && above(k->type, &k->min, &k->max)) {
        return msb__err(err, MSB_EINVAL, "config: %s: min %s is above max %s", k->name, in->min,
                        in->max);
    }
    if (in->default_value != NULL) {
        char why[CFG_WHY_MAX];
        cfg_raw_t raw = {in->default_value, strlen(in->default_value), NULL};
        rc = msb__config_coerce(k, &raw, &k->def, why);
        if (rc != MSB_OK) {
            return msb__err(err, rc == MSB_ENOMEM ? MSB_ENOMEM : MSB_EINVAL,
                            "config: default of %s: %s", k->name, why);
        }
        k->def_blob = k->def.blob;
        k->def.blob = NULL;
        k->def.layer = MSB_CONFIG_LAYER_DEFAULT;
    }
    return MSB_OK;
}

static int key_order(const void *a, const void *b)
{
    const cfg_key_t *x = a;
    const cfg_key_t *y = b;
    return strcmp(x->name, y->name);
}

/* Duplicates and keys that are also sections of others, in a sorted array. */
static msb_status_t conflicts(const cfg_key_t *keys, size_t n, msb_error_t *err)
{
    for (size_t i = 0; i + 1 < n; i++) {
        const cfg_key_t *a = &keys[i];
        const cfg_key_t *b = &keys[i + 1];
        if (strcmp(a->name, b->name) == 0) {
            return msb__err(err, MSB_EEXIST, "config: key %s is declared twice", a->name);
        }
        if (b->len > a->len && memcmp(a->name, b->name, a->len) == 0 && b->name[a->len] == '.') {
            return msb__err(err, MSB_EEXIST,
                            "config: key %s is also the section of %s; a name is either a "
                            "value or a section",
                            a->name, b->name);
        }
    }
    return MSB_OK;
}

msb_status_t msb__config_add(msb_config_t *cfg, const msb_config_key_t *keys, size_t count,
                             size_t key_size, unsigned extra_flags, msb_error_t *err)
{
    if (count > 0 && keys == NULL) {
        return msb__err(err, MSB_EINVAL, "config: keys is NULL");
    }
    if (key_size < offsetof(msb_config_key_t, min)) {
        return msb__err(err, MSB_EINVAL,
                        "config: key_size %zu is too small; pass "
                        "MSB_CONFIG_KEYS(table)",
                        key_size);
    }
    if (count > (SIZE_MAX / 2) / sizeof(cfg_key_t) - cfg->nkeys) {
        return msb__err(err, MSB_EINVAL, "config: too many keys");
    }
    size_t total = cfg->nkeys + count;
    cfg_key_t *all = msb__calloc(total > 0 ? total : 1, sizeof(cfg_key_t));
    if (all == NULL) {
        return msb__err_nomem(err, "the configuration schema");
    }
    if (cfg->nkeys > 0) {
        memcpy(all, cfg->keys, cfg->nkeys * sizeof(cfg_key_t));
    }
    msb_status_t rc = MSB_OK;
    for (size_t i = 0; i < count && rc == MSB_OK; i++) {
        msb_config_key_t in;
        memset(&in, 0, sizeof(in));
        const char *entry = (const char *)keys + i * key_size;
        memcpy(&in, entry, key_size < sizeof(in) ? key_size : sizeof(in));
        rc = declare(&in, extra_flags, &all[cfg->nkeys + i], err);
        all[cfg->nkeys + i].flags |= CFG_NEW;
    }
    if (rc == MSB_OK) {
        qsort(all, total, sizeof(cfg_key_t), key_order);
        rc = conflicts(all, total, err);
    }
    for (size_t i = 0; i < total; i++) {
        if ((all[i].flags & CFG_NEW) != 0 && rc != MSB_OK) {
            msb__free(all[i].def_blob); /* declare() leaves none behind when it fails */
        }
        all[i].flags &= ~CFG_NEW;
    }
    if (rc != MSB_OK) {
        msb__free(all);
        return rc;
    }
    msb__free(cfg->keys);
    cfg->keys = all;
    cfg->nkeys = total;
    msb__free(cfg->index); /* stale: rebuilt by the next load */
    cfg->index = NULL;
    return MSB_OK;
}

msb_status_t msb_config_add_keys(msb_config_t *cfg, const msb_config_key_t *keys, size_t count,
                                 size_t key_size, msb_error_t *err)
{
    if (cfg == NULL) {
        return msb__err(err, MSB_EINVAL, "config: cfg is NULL");
    }
    if (cfg->loaded) {
        return msb__err(err, MSB_EBUSY, "config: keys must be added before msb_config_load");
    }
    return msb__config_add(cfg, keys, count, key_size, 0, err);
}
