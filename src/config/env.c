/*
 * The environment: PREFIX + the key in upper case with each dot written as a double underscore
 * (MSB_DB__READ_REPLICA__DSN is db.read_replica.dsn). Variables libmsb reads directly
 * (PREFIX PLUGIN_DIR) and the test harness's (PREFIX TEST__*) are not configuration keys.
 */
#include <string.h>

#include "config/internal.h"
#include "core/error.h"

extern char **environ;

static char *const *env_list(const msb_config_t *cfg)
{
    return cfg->envp != NULL ? cfg->envp : environ;
}

void msb__config_env_var(const char *prefix, const char *key, size_t n, char *out, size_t size)
{
    size_t o = 0;
    if (size == 0) {
        return;
    }
    for (const char *p = prefix; *p != '\0' && o + 1 < size; p++) {
        out[o++] = *p;
    }
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        char c = key[i];
        if (c == '.') {
            out[o++] = '_';
            out[o++] = '_';
        } else {
            out[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
    }
    out[o] = '\0';
}

void msb__config_env_name(const msb_config_t *cfg, const char *key, size_t n, char *out,
                          size_t size)
{
    msb__config_env_var(cfg->env_prefix, key, n, out, size);
}

const char *msb__config_env_get(const msb_config_t *cfg, const char *name, const char **var,
                                size_t *var_len)
{
    char want[CFG_KEY_MAX * 2 + 64];
    if (cfg->env_prefix[0] == '\0') {
        return NULL;
    }
    msb__config_env_name(cfg, name, strlen(name), want, sizeof(want));
    size_t wl = strlen(want);
    for (char *const *e = env_list(cfg); e != NULL && *e != NULL; e++) {
        if (strncmp(*e, want, wl) == 0 && (*e)[wl] == '=') {
            *var = *e;
            *var_len = wl;
            return *e + wl + 1;
        }
    }
    return NULL;
}

static bool upper_seg(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* NAME (after the prefix) to a key: words [A-Z0-9]+ joined by "_", sections joined by "__". */
static bool to_key(const char *s, size_t n, char *key, size_t *klen)
{
    size_t o = 0;
    size_t i = 0;
    for (;;) {
        if (i >= n || !upper_seg(s[i])) {
            return false;
        }
        while (i < n && upper_seg(s[i])) {
            if (o >= CFG_KEY_MAX) {
                return false;
            }
            key[o++] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
            i++;
        }
        if (i == n) {
            break;
        }
        if (s[i] != '_' || o >= CFG_KEY_MAX) {
            return false;
        }
        bool section = i + 1 < n && s[i + 1] == '_';
        key[o++] = section ? '.' : '_';
        i += section ? 2 : 1;
    }
    key[o] = '\0';
    *klen = o;
    return true;
}

static bool ignored(const msb_config_t *cfg, const char *name, size_t n)
{
    size_t pl = strlen(cfg->env_prefix);
    const char *rest = name + pl;
    size_t rn = n - pl;
    return (rn == 10 && memcmp(rest, "PLUGIN_DIR", 10) == 0) ||
           (rn >= 6 && memcmp(rest, "TEST__", 6) == 0);
}

/* An unknown or malformed variable, handled as cfg->unknown_env says. */
static msb_status_t unknown(const msb_config_t *cfg, const char *name, size_t n, const char *key,
                            size_t klen, msb_error_t *err)
{
    msb_error_t e = MSB_ERROR_INIT;
    if (cfg->unknown_env == MSB_CONFIG_UNKNOWN_IGNORE) {
        return MSB_OK;
    }
    char near[CFG_KEY_MAX + 8];
    if (key == NULL) {
        msb__err(&e, MSB_EINVAL,
                 "%.*s is not a configuration variable name: after %s write the key in upper "
                 "case with __ between sections, like %sHTTP__LISTEN",
                 (int)n, name, cfg->env_prefix, cfg->env_prefix);
    } else if (msb__config_suggest(cfg, key, klen, near, sizeof(near))) {
        char var[CFG_KEY_MAX * 2 + 64];
        msb__config_env_name(cfg, near, strlen(near), var, sizeof(var));
        msb__err(&e, MSB_EINVAL, "unknown key \"%s\" (from %.*s); did you mean %s?", key, (int)n,
                 name, var);
    } else {
        msb__err(&e, MSB_EINVAL, "unknown key \"%s\" (from %.*s)", key, (int)n, name);
    }
    if (cfg->unknown_env == MSB_CONFIG_UNKNOWN_WARN) {
        if (cfg->warn != NULL) {
            cfg->warn(cfg->warn_user, e.message);
        }
        return MSB_OK;
    }
    if (err != NULL) {
        *err = e;
    }
    return MSB_EINVAL;
}

msb_status_t msb__config_env_apply(cfg_build_t *b, msb_error_t *err)
{
    const msb_config_t *cfg = b->cfg;
    size_t pl = strlen(cfg->env_prefix);
    if (pl == 0) {
        return MSB_OK;
    }
    for (char *const *e = env_list(cfg); e != NULL && *e != NULL; e++) {
        const char *entry = *e;
        const char *eq = strchr(entry, '=');
        if (strncmp(entry, cfg->env_prefix, pl) != 0 || eq == NULL) {
            continue;
        }
        size_t n = (size_t)(eq - entry);
        if (n < pl || ignored(cfg, entry, n)) {
            continue;
        }
        char key[CFG_KEY_MAX + 1];
        size_t klen = 0;
        size_t k;
        bool file_ref;
        msb_status_t rc;
        if (!to_key(entry + pl, n - pl, key, &klen)) {
            rc = unknown(cfg, entry, n, NULL, 0, err);
        } else if (!msb__config_resolve(cfg, key, klen, &k, &file_ref)) {
            rc = unknown(cfg, entry, n, key, klen, err);
        } else {
            cfg_origin_t o = {MSB_CONFIG_LAYER_ENV, entry, n, 0, NULL};
            cfg_raw_t raw = {eq + 1, strlen(eq + 1), NULL};
            rc = msb__config_assign(b, k, file_ref, &raw, &o, err);
        }
        if (rc != MSB_OK) {
            return rc;
        }
    }
    return MSB_OK;
}
