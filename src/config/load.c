/*
 * msb_config_load(): the command line, then the file path and profile it (or the environment, or
 * the options) chose, then every layer into the first snapshot.
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

static void reset(msb_config_t *cfg)
{
    for (int i = 0; i < cfg->argc; i++) {
        msb__free(cfg->argv[i]);
    }
    msb__free(cfg->argv);
    msb__free((void *)cfg->args);
    msb__free(cfg->cli);
    msb__free(cfg->path);
    msb__free(cfg->profile);
    cfg->argv = NULL;
    cfg->argc = 0;
    cfg->args = NULL;
    cfg->nargs = 0;
    cfg->cli = NULL;
    cfg->ncli = 0;
    cfg->path = NULL;
    cfg->profile = NULL;
    cfg->path_explicit = false;
    cfg->base_seen = false;
    cfg->overlay_seen = false;
    cfg->action = MSB_CONFIG_ACTION_RUN;
}

static msb_status_t copy_argv(msb_config_t *cfg, int argc, const char *const *argv,
                              msb_error_t *err)
{
    if (argc == 0) {
        return MSB_OK;
    }
    cfg->argv = msb__calloc((size_t)argc, sizeof(char *));
    if (cfg->argv == NULL) {
        return msb__err_nomem(err, "the command line");
    }
    for (int i = 0; i < argc; i++) {
        cfg->argv[i] = msb__strdup(argv[i] != NULL ? argv[i] : "");
        if (cfg->argv[i] == NULL) {
            for (int j = 0; j < i; j++) {
                msb__free(cfg->argv[j]);
            }
            msb__free(cfg->argv);
            cfg->argv = NULL;
            return msb__err_nomem(err, "the command line");
        }
    }
    cfg->argc = argc;
    return MSB_OK;
}

/* The last --KEY on the command line (not --KEY_file), or NULL. */
static const cfg_cli_t *cli_last(const msb_config_t *cfg, size_t key)
{
    const cfg_cli_t *found = NULL;
    for (size_t i = 0; i < cfg->ncli; i++) {
        if (cfg->cli[i].key == key && !cfg->cli[i].file_ref) {
            found = &cfg->cli[i];
        }
    }
    return found;
}

/* A meta key (config, profile): command line, else environment, else the option's default. */
static const char *meta_value(const msb_config_t *cfg, const char *name, const char *def,
                              char *from, size_t from_size)
{
    size_t key = msb__config_find(cfg, name, strlen(name));
    const cfg_cli_t *c = cli_last(cfg, key);
    if (c != NULL) {
        snprintf(from, from_size, "%.*s", (int)c->opt_len, c->opt);
        return c->value;
    }
    const char *var = NULL;
    size_t var_len = 0;
    const char *v = msb__config_env_get(cfg, name, &var, &var_len);
    if (v != NULL) {
        snprintf(from, from_size, "%.*s", (int)var_len, var);
        return v;
    }
    snprintf(from, from_size, "the options");
    return def;
}

static bool listed(const char *words, const char *s)
{
    size_t n = strlen(s);
    const char *w = words;
    while (*w != '\0') {
        const char *end = strchr(w, '|');
        size_t len = end != NULL ? (size_t)(end - w) : strlen(w);
        if (len == n && memcmp(w, s, n) == 0) {
            return true;
        }
        w += len + (end != NULL ? 1 : 0);
    }
    return false;
}

static msb_status_t resolve(msb_config_t *cfg, msb_error_t *err)
{
    char from[CFG_KEY_MAX + 8];
    const char *path = meta_value(cfg, "config", cfg->file, cfg->path_from, sizeof(cfg->path_from));
    cfg->path_explicit = strcmp(cfg->path_from, "the options") != 0;
    if (path != NULL && path[0] != '\0') {
        cfg->path = msb__strdup(path);
        if (cfg->path == NULL) {
            return msb__err_nomem(err, "the configuration file path");
        }
    }
    const char *profile = meta_value(cfg, "profile", cfg->profile_default, from, sizeof(from));
    if (profile == NULL || profile[0] == '\0') {
        return MSB_OK;
    }
    if (!listed(cfg->profiles, profile)) {
        char q[128];
        char near[CFG_PROFILE_MAX + 1];
        char hint[CFG_PROFILE_MAX + 32] = "";
        msb__config_quote(profile, strlen(profile), q, sizeof(q));
        if (msb__config_suggest_word(cfg->profiles, profile, strlen(profile), near, sizeof(near))) {
            snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", near);
        }
        char list[160];
        msb__config_words(cfg->profiles, list, sizeof(list));
        return msb__err(err, MSB_EINVAL, "profile: %s is not one of %s (from %s)%s", q,
                        list[0] != '\0' ? list : "(no profiles are defined)", from, hint);
    }
    cfg->profile = msb__strdup(profile);
    if (cfg->profile == NULL) {
        return msb__err_nomem(err, "the profile name");
    }
    return MSB_OK;
}

/* One file as its own pass; a missing file is skipped unless required (*seen says which). */
static msb_status_t apply_file(cfg_build_t *b, const char *path, bool required, const char *from,
                               bool *seen, msb_error_t *err)
{
    char *text = NULL;
    size_t len = 0;
    char why[CFG_WHY_MAX];
    msb_status_t rc = msb__config_read_file(path, b->cfg->file_max, &text, &len, why);
    *seen = rc != MSB_ENOTFOUND;
    if (rc == MSB_ENOTFOUND && !required) {
        return MSB_OK;
    }
    if (rc == MSB_ENOMEM) {
        return msb__err_nomem(err, "the configuration file");
    }
    if (rc != MSB_OK) {
        return msb__err(err, rc, "configuration file: %s (from %s)", why, from);
    }
    msb__config_build_pass(b);
    rc = msb__config_json_apply(b, text, len, path, err);
    msb__free(text);
    return rc;
}

/* "dir/app.json" + "prod" -> "dir/app.prod.json". */
static char *overlay_path(const char *path, const char *profile)
{
    msb__buf_t p = MSB__BUF_INIT;
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
        n -= 5;
    }
    msb__buf_append(&p, path, n);
    msb__buf_printf(&p, ".%s.json", profile);
    if (msb__buf_status(&p) != MSB_OK) {
        msb__buf_free(&p);
        return NULL;
    }
    return msb__buf_steal(&p, NULL);
}

msb_status_t msb__config_build_all(cfg_build_t *b, msb_error_t *err)
{
    msb_config_t *cfg = b->cfg;
    msb_status_t rc = MSB_OK;
    if (cfg->path != NULL) {
        /* at a reload, files that existed at load are required: a file that vanished (or a
         * mount that went away) must not silently put keys back to their defaults */
        bool required = cfg->path_explicit || cfg->file_required || cfg->base_seen;
        bool seen = false;
        rc = apply_file(b, cfg->path, required, cfg->path_from, &seen, err);
        if (!cfg->loaded) {
            cfg->base_seen = seen;
        }
        if (rc == MSB_OK && cfg->profile != NULL) {
            char *overlay = overlay_path(cfg->path, cfg->profile);
            if (overlay == NULL) {
                return msb__err_nomem(err, "the profile file path");
            }
            rc = apply_file(b, overlay, cfg->overlay_seen, "the profile", &seen, err);
            if (!cfg->loaded) {
                cfg->overlay_seen = seen;
            }
            msb__free(overlay);
        }
    }
    if (rc == MSB_OK) {
        msb__config_build_pass(b);
        rc = msb__config_env_apply(b, err);
    }
    if (rc == MSB_OK) {
        msb__config_build_pass(b);
        rc = msb__config_args_apply(b, err);
    }
    for (size_t i = 0; i < cfg->nkeys && rc == MSB_OK; i++) {
        const cfg_key_t *k = &cfg->keys[i];
        if ((k->flags & MSB_CONFIG_REQUIRED) != 0 &&
            b->snap->values[i].layer == MSB_CONFIG_LAYER_NONE) {
            char env[CFG_KEY_MAX * 2 + 16];
            msb__config_env_name(cfg, k->name, k->len, env, sizeof(env));
            rc = msb__err(err, MSB_EINVAL,
                          "%s: required but not set (set it in the configuration file, as %s or "
                          "as --%s)",
                          k->name, env, k->name);
        }
    }
    return rc;
}

msb_status_t msb_config_load(msb_config_t *cfg, int argc, const char *const *argv, msb_error_t *err)
{
    if (cfg == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
        return msb__err(err, MSB_EINVAL, "config: cfg is NULL or argc/argv are invalid");
    }
    if (cfg->loaded) {
        return msb__err(err, MSB_EBUSY, "config: already loaded; use msb_config_reload");
    }
    reset(cfg);
    if (msb__config_index(cfg) != MSB_OK) {
        return msb__err_nomem(err, "the configuration key index");
    }
    msb_status_t rc = copy_argv(cfg, argc, argv, err);
    if (rc == MSB_OK) {
        rc = msb__config_args_parse(cfg, err);
    }
    if (rc == MSB_OK && cfg->action == MSB_CONFIG_ACTION_HELP) {
        return MSB_OK;
    }
    if (rc == MSB_OK) {
        rc = resolve(cfg, err);
    }
    cfg_build_t b;
    if (rc == MSB_OK) {
        rc = msb__config_build_begin(cfg, &b, err);
        if (rc == MSB_OK) {
            rc = msb__config_build_all(&b, err);
            if (rc != MSB_OK) {
                msb__config_build_abort(&b);
            }
        }
    }
    if (rc != MSB_OK) {
        reset(cfg);
        return rc;
    }
    msb__config_retain(cfg, b.snap);
    msb__free(b.stamp);
    pthread_rwlock_wrlock(&cfg->lock);
    cfg->snap = b.snap;
    pthread_rwlock_unlock(&cfg->lock);
    cfg->loaded = true;
    return MSB_OK;
}

msb_config_action_t msb_config_action(const msb_config_t *cfg)
{
    return cfg != NULL ? cfg->action : MSB_CONFIG_ACTION_RUN;
}

const char *const *msb_config_args(const msb_config_t *cfg, size_t *count)
{
    static const char *const none[] = {NULL};
    if (cfg == NULL || cfg->args == NULL) {
        if (count != NULL) {
            *count = 0;
        }
        return none;
    }
    if (count != NULL) {
        *count = cfg->nargs;
    }
    return cfg->args;
}
