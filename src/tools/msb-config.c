/*
 * msb-config: work with libmsb configuration files without the program's schema.
 *
 *   msb-config check FILE...             syntax, key names, values set twice (nested and flat)
 *   msb-config keys FILE                 every value as `key = JSON  # FILE:LINE`
 *   msb-config env [--prefix=P] FILE     the file as environment assignments (P defaults to
 *                                        MSB_), shell-quoted: for .env files, ConfigMaps, docker
 *
 * Types are not checked (only the program knows them); `--print-config` of the program itself
 * does that. Exit status: 0 fine, 1 a file has a problem, 2 usage.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"

typedef enum tool_mode { MODE_CHECK, MODE_KEYS, MODE_ENV } tool_mode_t;

typedef struct ctx {
    const char *file;
    const char *prefix;
    tool_mode_t mode;
    cfg_lines_t *lines;
    msb__buf_t key;
    int problems;
} ctx_t;

static void usage(FILE *out)
{
    fputs("Usage: msb-config check FILE...\n"
          "       msb-config keys FILE\n"
          "       msb-config env [--prefix=MSB_] FILE\n"
          "\n"
          "check: JSON syntax, key names ([a-z0-9] words joined by _, sections by .), and values\n"
          "       set twice (nested and flat spellings). Types need the program: run it with\n"
          "       --print-config.\n"
          "keys:  every value of the file as `key = JSON value  # FILE:LINE`.\n"
          "env:   the file as environment assignments (MSB_HTTP__LISTEN='...'), shell-quoted;\n"
          "       lists are joined with commas (\\, and \\\\ escaped), null values are skipped.\n",
          out);
}

/* Append v as the text a user would type (lists comma-joined with escapes). */
static void value_text(msb__buf_t *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        msb__buf_append(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        msb__buf_put_i64(b, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        msb__format_double(num, sizeof(num), json_real_value(v));
        msb__buf_puts(b, num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        msb__buf_puts(b, json_is_true(v) ? "true" : "false");
        break;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            msb__buf_puts(b, i > 0 ? "," : "");
            msb__buf_t item = MSB__BUF_INIT;
            value_text(&item, e);
            for (size_t j = 0; j < item.len; j++) {
                if (item.data[j] == ',' || item.data[j] == '\\') {
                    msb__buf_putc(b, '\\');
                }
                msb__buf_putc(b, item.data[j]);
            }
            msb__buf_free(&item);
        }
        break;
    default:
        break;
    }
}

/* 'text' with ' written as '\'' */
static void shell_quote(msb__buf_t *b, const char *s, size_t n)
{
    msb__buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') {
            msb__buf_puts(b, "'\\''");
        } else {
            msb__buf_putc(b, s[i]);
        }
    }
    msb__buf_putc(b, '\'');
}

static void leaf(ctx_t *c, const json_t *v, unsigned line)
{
    const char *k = c->key.data;
    if (!msb__config_valid_name(k, c->key.len)) {
        fprintf(stderr,
                "%s:%u: \"%s\" is not a valid key name ([a-z0-9] words joined by _, "
                "sections by .)\n",
                c->file, line, k);
        c->problems++;
        return;
    }
    bool nested = false;
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        nested = nested || json_is_object(e) || json_is_array(e);
    }
    if (nested) {
        fprintf(stderr, "%s:%u: \"%s\": a list holds strings, not objects or arrays\n", c->file,
                line, k);
        c->problems++;
        return;
    }
    if (c->mode == MODE_CHECK || (c->mode == MODE_ENV && json_is_null(v))) {
        return;
    }
    msb__buf_t out = MSB__BUF_INIT;
    msb__buf_t text = MSB__BUF_INIT;
    value_text(&text, v);
    if (c->mode == MODE_KEYS) {
        char *json = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        msb__buf_printf(&out, "%s = %s  # %s:%u\n", k, json != NULL ? json : "?", c->file, line);
        free(json);
    } else {
        char var[CFG_KEY_MAX * 2 + 64];
        msb__config_env_var(c->prefix, k, c->key.len, var, sizeof(var));
        msb__buf_printf(&out, "%s=", var);
        shell_quote(&out, text.data != NULL ? text.data : "", text.len);
        msb__buf_putc(&out, '\n');
    }
    if (msb__buf_status(&out) != MSB_OK || msb__buf_status(&text) != MSB_OK) {
        fprintf(stderr, "msb-config: out of memory\n");
        c->problems++;
    } else {
        fwrite(out.data, 1, out.len, stdout);
    }
    msb__buf_free(&out);
    msb__buf_free(&text);
}

static void walk(ctx_t *c, const json_t *obj)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        size_t saved = c->key.len;
        if (saved > 0) {
            msb__buf_putc(&c->key, '.');
        }
        msb__buf_puts(&c->key, name);
        unsigned line = msb__config_lines_find(c->lines, c->key.data, c->key.len);
        if (json_is_object(v) && json_object_size(v) > 0) {
            walk(c, v);
        } else if (!json_is_object(v)) {
            leaf(c, v, line);
        }
        c->key.len = saved;
        c->key.data[saved] = '\0';
    }
}

static int one_file(ctx_t *c)
{
    char *text = NULL;
    size_t len = 0;
    char why[CFG_WHY_MAX];
    if (msb__config_read_file(c->file, (size_t)4 << 20, &text, &len, why) != MSB_OK) {
        fprintf(stderr, "msb-config: %s\n", why);
        return 1;
    }
    const char *body = text;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        body += 3;
        len -= 3;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    msb_error_t err = MSB_ERROR_INIT;
    int rc = 0;
    if (root == NULL) {
        fprintf(stderr, "%s:%d:%d: invalid JSON: %s\n", c->file, jerr.line, jerr.column, jerr.text);
        rc = 1;
    } else if (!json_is_object(root)) {
        fprintf(stderr, "%s: the top level must be a JSON object {...}\n", c->file);
        rc = 1;
    } else if (msb__config_lines_new(body, len, c->file, &c->lines, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        rc = 1;
    } else {
        c->problems = 0;
        walk(c, root);
        rc = c->problems > 0 || msb__buf_status(&c->key) != MSB_OK;
        msb__config_lines_free(c->lines);
        c->lines = NULL;
    }
    json_decref(root);
    msb__free(text);
    msb__buf_free(&c->key);
    if (rc == 0 && c->mode == MODE_CHECK) {
        printf("%s: ok\n", c->file);
    }
    return rc;
}

int main(int argc, char **argv)
{
    ctx_t c;
    memset(&c, 0, sizeof(c));
    c.prefix = "MSB_";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    int first = 2;
    if (strcmp(argv[1], "check") == 0) {
        c.mode = MODE_CHECK;
    } else if (strcmp(argv[1], "keys") == 0) {
        c.mode = MODE_KEYS;
    } else if (strcmp(argv[1], "env") == 0) {
        c.mode = MODE_ENV;
        if (strncmp(argv[2], "--prefix=", 9) == 0) {
            c.prefix = argv[2] + 9;
            first = 3;
        }
    } else {
        usage(stderr);
        return 2;
    }
    if (first >= argc || (c.mode != MODE_CHECK && argc - first != 1)) {
        usage(stderr);
        return 2;
    }
    int rc = 0;
    for (int i = first; i < argc; i++) {
        c.file = argv[i];
        rc |= one_file(&c);
    }
    return rc;
}
