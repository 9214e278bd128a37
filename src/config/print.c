/*
 * --print-config (the effective values with their sources, secrets redacted) and --help (the
 * schema). Both are formatted into memory first, so the read lock is never held during I/O.
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define ALIGN_MAX 56 /* the "# source" column, unless a line is longer */

static const char *layer_name(msb_config_layer_t l)
{
    static const char *const names[] = {"none", "default", "file", "env", "args"};
    return (unsigned)l < MSB_ARRAY_LEN(names) ? names[l] : "none";
}

static msb_status_t emit(msb__buf_t *b, FILE *out, msb_error_t *err)
{
    msb_status_t rc = msb__buf_status(b);
    if (rc != MSB_OK) {
        msb__buf_free(b);
        return msb__err_nomem(err, "the printed configuration");
    }
    bool ok = b->len == 0 || fwrite(b->data, 1, b->len, out) == b->len;
    ok = fflush(out) == 0 && ok;
    msb__buf_free(b);
    if (!ok) {
        return msb__err(err, MSB_EIO, "config: writing the configuration failed");
    }
    return MSB_OK;
}

static void text_line(msb__buf_t *b, const msb_config_t *cfg, size_t i)
{
    const cfg_key_t *k = &cfg->keys[i];
    const cfg_value_t *v = &cfg->snap->values[i];
    size_t start = b->len;
    msb__buf_puts(b, k->name);
    msb__buf_puts(b, " = ");
    if (v->layer == MSB_CONFIG_LAYER_NONE) {
        msb__buf_puts(b, "(unset)");
        msb__buf_putc(b, '\n');
        return;
    }
    if ((k->flags & MSB_CONFIG_SECRET) != 0) {
        msb__buf_puts(b, "<redacted>");
    } else {
        msb__config_value_text(b, k, v);
    }
    size_t width = b->len - start;
    do {
        msb__buf_putc(b, ' ');
        width++;
    } while (width < ALIGN_MAX);
    msb__buf_puts(b, " # ");
    msb__buf_puts(b, msb__config_source(cfg->snap, v));
    msb__buf_putc(b, '\n');
}

static void json_entry(msb__buf_t *b, const msb_config_t *cfg, size_t i)
{
    const cfg_key_t *k = &cfg->keys[i];
    const cfg_value_t *v = &cfg->snap->values[i];
    msb__buf_puts(b, i > 0 ? ",\n  " : "\n  ");
    msb__buf_put_json_str(b, k->name, k->len);
    msb__buf_puts(b, ": {");
    if (v->layer == MSB_CONFIG_LAYER_NONE) {
        msb__buf_puts(b, "\"value\": null");
    } else if ((k->flags & MSB_CONFIG_SECRET) != 0) {
        msb__buf_puts(b, "\"redacted\": true");
    } else {
        msb__buf_puts(b, "\"value\": ");
        if (k->type == MSB_CONFIG_DURATION || k->type == MSB_CONFIG_SIZE) {
            msb__buf_t t = MSB__BUF_INIT;
            msb__config_value_text(&t, k, v);
            msb__buf_put_json_str(b, t.data != NULL ? t.data : "", t.len);
            if (msb__buf_status(&t) != MSB_OK) {
                b->failed = MSB_ENOMEM;
            }
            msb__buf_free(&t);
        } else {
            msb__config_value_text(b, k, v);
        }
    }
    msb__buf_printf(b, ", \"layer\": \"%s\"", layer_name(v->layer));
    if (v->layer != MSB_CONFIG_LAYER_NONE) {
        const char *src = msb__config_source(cfg->snap, v);
        msb__buf_puts(b, ", \"source\": ");
        msb__buf_put_json_str(b, src, strlen(src));
    }
    msb__buf_putc(b, '}');
}

msb_status_t msb_config_print(const msb_config_t *cfg, FILE *out, unsigned flags, msb_error_t *err)
{
    if (cfg == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "config: cfg or out is NULL");
    }
    if (!cfg->loaded) {
        return msb__err(err, MSB_EINVAL, "config: not loaded; call msb_config_load first");
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb_config_t *m = (msb_config_t *)cfg;
    pthread_rwlock_rdlock(&m->lock);
    if ((flags & MSB_CONFIG_PRINT_JSON) != 0) {
        msb__buf_putc(&b, '{');
        for (size_t i = 0; i < cfg->nkeys; i++) {
            json_entry(&b, cfg, i);
        }
        msb__buf_puts(&b, "\n}\n");
    } else {
        for (size_t i = 0; i < cfg->nkeys; i++) {
            text_line(&b, cfg, i);
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return emit(&b, out, err);
}

static const char *type_word(msb_config_type_t t)
{
    static const char *const names[] = {"",     "string",   "integer", "number",
                                        "bool", "duration", "size",    "list"};
    return (unsigned)t < MSB_ARRAY_LEN(names) ? names[t] : "";
}

/* Append text wrapped at 100 columns, each line indented by 6 spaces. */
static void wrapped(msb__buf_t *b, const char *text)
{
    size_t col = 6;
    msb__buf_puts(b, "      ");
    while (*text != '\0') {
        const char *sp = strchr(text, ' ');
        size_t wl = sp != NULL ? (size_t)(sp - text) : strlen(text);
        if (col > 6 && col + 1 + wl > 100) {
            msb__buf_puts(b, "\n      ");
            col = 6;
        } else if (col > 6) {
            msb__buf_putc(b, ' ');
            col++;
        }
        msb__buf_append(b, text, wl);
        col += wl;
        text += wl;
        while (*text == ' ') {
            text++;
        }
    }
    msb__buf_putc(b, '\n');
}

static void help_key(msb__buf_t *b, const msb_config_t *cfg, const cfg_key_t *k)
{
    char env[CFG_KEY_MAX * 2 + 64];
    msb__buf_printf(b, "  --%s=<%s>", k->name, type_word(k->type));
    if (cfg->env_prefix[0] != '\0') {
        msb__config_env_name(cfg, k->name, k->len, env, sizeof(env));
        msb__buf_printf(b, "  (env %s)", env);
    }
    msb__buf_putc(b, '\n');
    msb__buf_t t = MSB__BUF_INIT;
    msb__buf_puts(&t, k->description);
    const char *sep = k->description[0] != '\0' ? " [" : "[";
    size_t mark = t.len;
    if (k->def.layer == MSB_CONFIG_LAYER_DEFAULT) {
        msb__buf_printf(&t, "%sdefault ", sep);
        if ((k->flags & MSB_CONFIG_SECRET) != 0) {
            msb__buf_puts(&t, "<redacted>");
        } else {
            msb__config_value_text(&t, k, &k->def);
        }
        sep = "; ";
    }
    if (k->has_min && k->has_max) {
        msb__buf_printf(&t, "%s%s to %s", sep, k->min_text, k->max_text);
        sep = "; ";
    } else if (k->has_min || k->has_max) {
        msb__buf_printf(&t, "%s%s %s", sep, k->has_min ? "at least" : "at most",
                        k->has_min ? k->min_text : k->max_text);
        sep = "; ";
    }
    const char *choices = k->choices;
    if ((k->flags & CFG_META) != 0 && strcmp(k->name, "profile") == 0 && cfg->profiles[0] != '\0') {
        choices = cfg->profiles;
    }
    if (choices != NULL) {
        char list[CFG_WHY_MAX];
        msb__config_words(choices, list, sizeof(list));
        msb__buf_printf(&t, "%sone of %s", sep, list);
        sep = "; ";
    }
    static const struct {
        unsigned flag;
        const char *word;
    } flags[] = {{MSB_CONFIG_REQUIRED, "required"},
                 {MSB_CONFIG_SECRET, "secret"},
                 {MSB_CONFIG_RELOADABLE, "reloadable"}};
    for (size_t f = 0; f < MSB_ARRAY_LEN(flags); f++) {
        if ((k->flags & flags[f].flag) != 0) {
            msb__buf_printf(&t, "%s%s", sep, flags[f].word);
            sep = "; ";
        }
    }
    if (t.len != mark) {
        msb__buf_putc(&t, ']');
    }
    if (msb__buf_status(&t) != MSB_OK) {
        b->failed = MSB_ENOMEM;
    } else if (t.len > 0) {
        wrapped(b, t.data);
    }
    msb__buf_free(&t);
}

msb_status_t msb_config_print_help(const msb_config_t *cfg, FILE *out, msb_error_t *err)
{
    if (cfg == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "config: cfg or out is NULL");
    }
    const char *prog = "PROGRAM";
    if (cfg->argc > 0 && cfg->argv[0][0] != '\0') {
        const char *slash = strrchr(cfg->argv[0], '/');
        prog = slash != NULL ? slash + 1 : cfg->argv[0];
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_printf(&b,
                    "Usage: %s [--key=value ...] [--print-config] [--help] [--] [ARG ...]\n\n"
                    "Every option can also be set in the JSON configuration file ({\"http\": "
                    "{\"listen\": ...}}),\n",
                    prog);
    if (cfg->env_prefix[0] != '\0') {
        msb__buf_printf(&b,
                        "in the environment (%sHTTP__LISTEN), and read from a file by adding "
                        "_file to its name.\n",
                        cfg->env_prefix);
    } else {
        msb__buf_puts(&b, "and read from a file by adding _file to its name.\n");
    }
    msb__buf_puts(&b, "Precedence: command line > environment > profile file > file > default.\n\n"
                      "Options:\n");
    for (size_t i = 0; i < cfg->nkeys; i++) {
        help_key(&b, cfg, &cfg->keys[i]);
    }
    msb__buf_puts(&b, "  --print-config\n      Print the effective configuration with the source "
                      "of each value, then exit.\n"
                      "  --help, -h\n      Print this help, then exit.\n");
    return emit(&b, out, err);
}
