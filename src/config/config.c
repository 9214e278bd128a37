/* msb_config_t: creation, the schema (declared keys) and its look-ups. */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define FILE_MAX_LIMIT ((size_t)1 << 30)

static const msb_config_key_t builtin_keys[] = {
    {.name = "config",
     .type = MSB_CONFIG_STRING,
     .description = "Path of the JSON configuration file; the profile overlay "
                    "<name>.<profile>.json is read from beside it. Empty: no file."},
    {.name = "profile",
     .type = MSB_CONFIG_STRING,
     .description = "Profile whose overlay file is applied over the configuration file."},
};

const char *msb__config_type_name(msb_config_type_t t)
{
    switch (t) {
    case MSB_CONFIG_STRING:
        return "a string";
    case MSB_CONFIG_INT:
        return "an integer";
    case MSB_CONFIG_DOUBLE:
        return "a number";
    case MSB_CONFIG_BOOL:
        return "true or false";
    case MSB_CONFIG_DURATION:
        return "a duration such as 250ms, 2s or 1m30s";
    case MSB_CONFIG_SIZE:
        return "a size such as 512, 64KiB or 1MB";
    case MSB_CONFIG_LIST:
        return "a list of strings";
    }
    return "a value";
}

static bool seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool msb__config_valid_name(const char *s, size_t n)
{
    if (n == 0 || n > CFG_KEY_MAX) {
        return false;
    }
    /* segments [a-z0-9]+(_[a-z0-9]+)* joined by single dots */
    char prev = '.';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.' || c == '_') {
            if (!seg_char(prev)) {
                return false;
            }
        } else if (!seg_char(c)) {
            return false;
        }
        prev = c;
    }
    return seg_char(prev);
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0) {
        return c;
    }
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

/* First key whose name is >= s[0..n). */
static size_t lower_bound(const msb_config_t *cfg, const char *s, size_t n)
{
    size_t lo = 0;
    size_t hi = cfg->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(cfg->keys[mid].name, cfg->keys[mid].len, s, n) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* FNV-1a: keys are few and fixed, and a colliding input costs only a compare or two. */
static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    }
    return h;
}

msb_status_t msb__config_index(msb_config_t *cfg)
{
    size_t cap = 16;
    while (cap < cfg->nkeys * 2) {
        cap *= 2;
    }
    uint32_t *slots = msb__calloc(cap, sizeof(uint32_t));
    if (slots == NULL) {
        return MSB_ENOMEM;
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        size_t at = name_hash(cfg->keys[i].name, cfg->keys[i].len) & (cap - 1);
        while (slots[at] != 0) {
            at = (at + 1) & (cap - 1);
        }
        slots[at] = (uint32_t)(i + 1);
    }
    msb__free(cfg->index);
    cfg->index = slots;
    cfg->index_cap = cap;
    return MSB_OK;
}

size_t msb__config_find(const msb_config_t *cfg, const char *s, size_t n)
{
    if (cfg->index != NULL) {
        size_t mask = cfg->index_cap - 1;
        for (size_t at = name_hash(s, n) & mask; cfg->index[at] != 0; at = (at + 1) & mask) {
            const cfg_key_t *k = &cfg->keys[cfg->index[at] - 1];
            if (k->len == n && memcmp(k->name, s, n) == 0) {
                return cfg->index[at] - 1;
            }
        }
        return SIZE_MAX;
    }
    size_t i = lower_bound(cfg, s, n);
    if (i < cfg->nkeys && name_cmp(cfg->keys[i].name, cfg->keys[i].len, s, n) == 0) {
        return i;
    }
    return SIZE_MAX;
}

size_t msb__config_section_key(const msb_config_t *cfg, const char *s, size_t n)
{
    /* '.' sorts before every other character of a name: s + "." + … follows s directly */
    size_t i = lower_bound(cfg, s, n);
    while (i < cfg->nkeys && cfg->keys[i].len == n && memcmp(cfg->keys[i].name, s, n) == 0) {
        i++;
    }
    if (i < cfg->nkeys && cfg->keys[i].len > n && memcmp(cfg->keys[i].name, s, n) == 0 &&
        cfg->keys[i].name[n] == '.') {
        return i;
    }
    return SIZE_MAX;
}

bool msb__config_resolve(const msb_config_t *cfg, const char *s, size_t n, size_t *key,
                         bool *file_ref)
{
    size_t i = msb__config_find(cfg, s, n);
    if (i != SIZE_MAX) {
        *key = i;
        *file_ref = false;
        return true;
    }
    if (n > 5 && memcmp(s + n - 5, "_file", 5) == 0) {
        i = msb__config_find(cfg, s, n - 5);
        if (i != SIZE_MAX) {
            *key = i;
            *file_ref = true;
            return true;
        }
    }
    return false;
}

static char *dup_opt(const char *s)
{
    return s != NULL ? msb__strdup(s) : NULL;
}

static bool valid_profile(const char *s, size_t n)
{
    if (n == 0 || n > CFG_PROFILE_MAX || !seg_char(s[0])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!seg_char(s[i]) && s[i] != '_' && s[i] != '-') {
            return false;
        }
    }
    return true;
}

static msb_status_t check_opts(const msb_config_opts_t *o, msb_error_t *err)
{
    const char *p = o->profiles != NULL ? o->profiles : "";
    while (*p != '\0') {
        const char *end = strchr(p, '|');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (!valid_profile(p, len)) {
            return msb__err(err, MSB_EINVAL,
                            "config: profiles \"%s\": each name is 1 to 32 of [a-z0-9_-], "
                            "separated by |",
                            o->profiles);
        }
        p += len + (end != NULL ? 1 : 0);
    }
    if (o->file_max == 0 || o->file_max > FILE_MAX_LIMIT || o->secret_max == 0 ||
        o->secret_max > FILE_MAX_LIMIT) {
        return msb__err(err, MSB_EINVAL, "config: file_max and secret_max must be 1 byte to 1 GiB");
    }
    if ((unsigned)o->unknown_env > MSB_CONFIG_UNKNOWN_IGNORE) {
        return msb__err(err, MSB_EINVAL, "config: unknown_env %d is not a msb_config_unknown_t",
                        (int)o->unknown_env);
    }
    return MSB_OK;
}

msb_status_t msb_config_new(const msb_config_opts_t *opts, msb_config_t **out, msb_error_t *err)
{
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    if (opts != NULL) {
        if (opts->size < offsetof(msb_config_opts_t, file) + sizeof(opts->file)) {
            return msb__err(err, MSB_EINVAL,
                            "config: opts->size is too small; use "
                            "MSB_CONFIG_OPTS_INIT");
        }
        size_t n = opts->size < sizeof(o) ? opts->size : sizeof(o);
        memcpy(&o, opts, n);
        o.size = sizeof(o);
    }
    msb_status_t rc = check_opts(&o, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_config_t *cfg = msb__calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        return msb__err_nomem(err, "a configuration");
    }
    /* Writers first: a reload must not starve behind readers that never pause. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int lrc = pthread_rwlock_init(&cfg->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (lrc != 0) {
        msb__free(cfg);
        return msb__err_nomem(err, "a configuration lock");
    }
    if (pthread_mutex_init(&cfg->reload_lock, NULL) != 0) {
        pthread_rwlock_destroy(&cfg->lock);
        msb__free(cfg);
        return msb__err_nomem(err, "a configuration lock");
    }
    cfg->file = dup_opt(o.file);
    cfg->profile_default = dup_opt(o.profile);
    cfg->profiles = msb__strdup(o.profiles != NULL ? o.profiles : "");
    cfg->env_prefix = msb__strdup(o.env_prefix != NULL ? o.env_prefix : "");
    cfg->file_required = o.file_required;
    cfg->envp = o.envp;
    cfg->unknown_env = o.unknown_env;
    cfg->warn = o.warn;
    cfg->warn_user = o.warn_user;
    cfg->file_max = o.file_max;
    cfg->secret_max = o.secret_max;
    cfg->next_watch = 1;
    bool ok = cfg->profiles != NULL && cfg->env_prefix != NULL &&
              (o.file == NULL || cfg->file != NULL) &&
              (o.profile == NULL || cfg->profile_default != NULL);
    if (!ok) {
        msb_config_free(cfg);
        return msb__err_nomem(err, "configuration options");
    }
    rc = msb__config_add(cfg, builtin_keys, MSB_ARRAY_LEN(builtin_keys), sizeof(builtin_keys[0]),
                         CFG_META, err);
    if (rc != MSB_OK) {
        msb_config_free(cfg);
        return rc;
    }
    /* the built-in defaults come from the options */
    size_t c = msb__config_find(cfg, "config", 6);
    size_t p = msb__config_find(cfg, "profile", 7);
    if (cfg->file != NULL) {
        cfg->keys[c].def.layer = MSB_CONFIG_LAYER_DEFAULT;
        cfg->keys[c].def.v.s = cfg->file;
    }
    if (cfg->profile_default != NULL) {
        cfg->keys[p].def.layer = MSB_CONFIG_LAYER_DEFAULT;
        cfg->keys[p].def.v.s = cfg->profile_default;
    }
    *out = cfg;
    return MSB_OK;
}

void msb_config_free(msb_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    pthread_rwlock_destroy(&cfg->lock);
    pthread_mutex_destroy(&cfg->reload_lock);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        msb__free(cfg->keys[i].def_blob);
    }
    msb__free(cfg->keys);
    msb__free(cfg->index);
    msb__config_snapshot_free(cfg->snap);
    msb__config_blob_free_all(cfg->retained);
    for (size_t i = 0; i < cfg->nwatches; i++) {
        msb__free(cfg->watches[i].prefix);
    }
    msb__free(cfg->watches);
    for (int i = 0; i < cfg->argc; i++) {
        msb__free(cfg->argv[i]);
    }
    msb__free(cfg->argv);
    msb__free((void *)cfg->args);
    msb__free(cfg->cli);
    msb__free(cfg->path);
    msb__free(cfg->profile);
    msb__free(cfg->file);
    msb__free(cfg->profile_default);
    msb__free(cfg->profiles);
    msb__free(cfg->env_prefix);
    msb__free(cfg);
}
