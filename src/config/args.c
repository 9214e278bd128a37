/*
 * The command line: --key=value, --key value (--key alone for booleans), --key_file=PATH,
 * --config, --profile, --print-config, --help/-h, and -- to end the options. Dashes in option
 * names stand for underscores (--http.read-timeout is http.read_timeout).
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static msb_status_t unknown(const msb_config_t *cfg, const char *opt, size_t opt_len,
                            const char *name, size_t n, msb_error_t *err)
{
    char near[CFG_KEY_MAX + 8];
    if (msb__config_suggest(cfg, name, n, near, sizeof(near))) {
        return msb__err(err, MSB_EINVAL, "unknown option %.*s; did you mean --%s?", (int)opt_len,
                        opt, near);
    }
    return msb__err(err, MSB_EINVAL, "unknown option %.*s (see --help for the options)",
                    (int)opt_len, opt);
}

/* One "--…" argument at argv[*i]; may consume the next one as its value. */
static msb_status_t option(msb_config_t *cfg, int *i, msb_error_t *err)
{
    const char *a = cfg->argv[*i];
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);
    size_t opt_len = n + 2;
    char key[CFG_KEY_MAX + 1];
    if (n == 0) {
        return msb__err(err, MSB_EINVAL, "option %s has no name; write --key=value", a);
    }
    if (n > CFG_KEY_MAX) {
        return msb__err(err, MSB_EINVAL, "unknown option %.40s... (longer than any key)", a);
    }
    for (size_t j = 0; j < n; j++) {
        key[j] = name[j] == '-' ? '_' : name[j];
    }
    key[n] = '\0';
    if (strcmp(key, "print_config") == 0) {
        if (eq != NULL) {
            return msb__err(err, MSB_EINVAL, "option --print-config takes no value");
        }
        cfg->action = MSB_CONFIG_ACTION_PRINT_CONFIG;
        return MSB_OK;
    }
    size_t k;
    bool file_ref;
    if (!msb__config_resolve(cfg, key, n, &k, &file_ref)) {
        return unknown(cfg, a, opt_len, key, n, err);
    }
    const char *value;
    if (eq != NULL) {
        value = eq + 1;
    } else if (cfg->keys[k].type == MSB_CONFIG_BOOL && !file_ref) {
        value = "true";
    } else if (*i + 1 < cfg->argc && strncmp(cfg->argv[*i + 1], "--", 2) != 0) {
        (*i)++;
        value = cfg->argv[*i];
    } else {
        return msb__err(err, MSB_EINVAL, "option %s needs a value: %s=VALUE or %s VALUE", a, a, a);
    }
    cfg->cli[cfg->ncli++] = (cfg_cli_t){k, file_ref, value, a, opt_len};
    return MSB_OK;
}

msb_status_t msb__config_args_parse(msb_config_t *cfg, msb_error_t *err)
{
    for (int i = 1; i < cfg->argc && strcmp(cfg->argv[i], "--") != 0; i++) {
        if (is_help(cfg->argv[i])) {
            cfg->action = MSB_CONFIG_ACTION_HELP;
            return MSB_OK;
        }
    }
    size_t n = cfg->argc > 0 ? (size_t)cfg->argc : 1;
    cfg->cli = msb__calloc(n, sizeof(cfg_cli_t));
    cfg->args = msb__calloc(n, sizeof(char *));
    if (cfg->cli == NULL || cfg->args == NULL) {
        return msb__err_nomem(err, "the command line");
    }
    bool options = true;
    for (int i = 1; i < cfg->argc; i++) {
        const char *a = cfg->argv[i];
        msb_status_t rc = MSB_OK;
        if (options && strcmp(a, "--") == 0) {
            options = false;
        } else if (options && strncmp(a, "--", 2) == 0) {
            rc = option(cfg, &i, err);
        } else if (options && a[0] == '-' && a[1] != '\0') {
            rc = msb__err(err, MSB_EINVAL,
                          "unknown option %s: options are written --key=value (see --help)", a);
        } else {
            cfg->args[cfg->nargs++] = a;
        }
        if (rc != MSB_OK) {
            return rc;
        }
    }
    cfg->args[cfg->nargs] = NULL;
    return MSB_OK;
}

msb_status_t msb__config_args_apply(cfg_build_t *b, msb_error_t *err)
{
    const msb_config_t *cfg = b->cfg;
    for (size_t i = 0; i < cfg->ncli; i++) {
        const cfg_cli_t *c = &cfg->cli[i];
        cfg_origin_t o = {MSB_CONFIG_LAYER_ARGS, c->opt, c->opt_len, 0, NULL};
        cfg_raw_t raw = {c->value, strlen(c->value), NULL};
        msb_status_t rc = msb__config_assign(b, c->key, c->file_ref, &raw, &o, err);
        if (rc != MSB_OK) {
            return rc;
        }
    }
    return MSB_OK;
}
