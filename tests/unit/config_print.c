/* --print-config and --help output. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "msb/msb.h"
#include "support/config_test.h"

static const msb_config_key_t keys[] = {
    {.name = "db.password",
     .type = MSB_CONFIG_STRING,
     .flags = MSB_CONFIG_SECRET,
     .description = "Database password."},
    {.name = "http.listen",
     .type = MSB_CONFIG_STRING,
     .default_value = "127.0.0.1:8080",
     .description = "Address to listen on."},
    {.name = "http.timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .max = "10m",
     .flags = MSB_CONFIG_RELOADABLE,
     .description = "Deadline of one request."},
    {.name = "http.max_body", .type = MSB_CONFIG_SIZE, .default_value = "1MiB", .min = "1KiB"},
    {.name = "log.level",
     .type = MSB_CONFIG_STRING,
     .default_value = "info",
     .choices = "debug|info|warn",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "tags", .type = MSB_CONFIG_LIST},
    {.name = "ratio", .type = MSB_CONFIG_DOUBLE, .default_value = "0.25", .max = "1"},
    {.name = "debug", .type = MSB_CONFIG_BOOL, .default_value = "no"},
    {.name = "workers", .type = MSB_CONFIG_INT, .flags = MSB_CONFIG_REQUIRED},
    {.name = "api.key",
     .type = MSB_CONFIG_STRING,
     .default_value = "dev-key",
     .flags = MSB_CONFIG_SECRET},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static msb_config_t *load(ct_dir_t *d)
{
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = ct_write(d, "app.json",
                      "{\n  \"http\": {\"timeout\": \"90s\"},\n  \"tags\": [\"a\", "
                      "\"b\\\"c\"]\n}");
    static char pw[200];
    snprintf(pw, sizeof(pw), "MSB_DB__PASSWORD_FILE=%s", ct_write(d, "pw", "s3cret\n"));
    static char *env[3];
    env[0] = pw;
    env[1] = "MSB_WORKERS=4";
    env[2] = NULL;
    const char *argv[] = {"prog", "--http.listen=0.0.0.0:\"9\"\n", "--debug", NULL};
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    return cfg;
}

/* Append "key = value", padded to the source column, and "# source". */
static void line(char *out, const char *kv, const char *src)
{
    size_t n = strlen(out);
    if (src == NULL) {
        snprintf(out + n, 4096 - n, "%s\n", kv);
        return;
    }
    int pad = 56 - (int)strlen(kv);
    snprintf(out + n, 4096 - n, "%s%*s # %s\n", kv, pad > 0 ? pad : 1, "", src);
}

Test(config_print, text_with_sources_and_redaction)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg = load(&d);
    char *text = ct_print(cfg, 0);
    char want[4096] = "";
    char tmp[512];
    line(want, "api.key = <redacted>", "default");
    snprintf(tmp, sizeof(tmp), "config = \"%s/app.json\"", d.path);
    line(want, tmp, "default");
    char src[256];
    snprintf(src, sizeof(src), "MSB_DB__PASSWORD_FILE (file %s/pw)", d.path);
    line(want, "db.password = <redacted>", src);
    line(want, "debug = true", "--debug");
    line(want, "http.listen = \"0.0.0.0:\\\"9\\\"\\n\"", "--http.listen");
    line(want, "http.max_body = 1MiB", "default");
    snprintf(src, sizeof(src), "%s/app.json:2", d.path);
    line(want, "http.timeout = 1m30s", src);
    line(want, "log.level = \"info\"", "default");
    line(want, "profile = (unset)", NULL);
    line(want, "ratio = 0.25", "default");
    snprintf(src, sizeof(src), "%s/app.json:3", d.path);
    line(want, "tags = [\"a\", \"b\\\"c\"]", src);
    line(want, "workers = 4", "MSB_WORKERS");
    cr_assert_str_eq(text, want);
    cr_assert_null(strstr(text, "s3cret"));
    cr_assert_null(strstr(text, "dev-key"));
    free(text);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_print, json_parses_back)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg = load(&d);
    char *text = ct_print(cfg, MSB_CONFIG_PRINT_JSON);
    cr_assert_null(strstr(text, "s3cret"));
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    cr_assert_not_null(j, "%s: %s", jerr.text, text);
    json_t *pw = json_object_get(j, "db.password");
    cr_assert(json_is_true(json_object_get(pw, "redacted")));
    cr_assert_null(json_object_get(pw, "value"));
    cr_assert_str_eq(json_string_value(json_object_get(pw, "layer")), "env");
    json_t *t = json_object_get(j, "http.timeout");
    cr_assert_str_eq(json_string_value(json_object_get(t, "value")), "1m30s");
    cr_assert_str_eq(json_string_value(json_object_get(t, "layer")), "file");
    json_t *l = json_object_get(json_object_get(j, "http.listen"), "value");
    cr_assert_str_eq(json_string_value(l), "0.0.0.0:\"9\"\n");
    json_t *tags = json_object_get(json_object_get(j, "tags"), "value");
    cr_assert_eq(json_array_size(tags), 2);
    cr_assert_str_eq(json_string_value(json_array_get(tags, 1)), "b\"c");
    json_t *w = json_object_get(json_object_get(j, "workers"), "value");
    cr_assert_eq(json_integer_value(w), 4);
    json_t *r = json_object_get(json_object_get(j, "ratio"), "value");
    cr_assert_float_eq(json_real_value(r), 0.25, 1e-12);
    cr_assert(json_is_true(json_object_get(json_object_get(j, "debug"), "value")));
    json_t *prof = json_object_get(j, "profile");
    cr_assert(json_is_null(json_object_get(prof, "value")));
    cr_assert_str_eq(json_string_value(json_object_get(prof, "layer")), "none");
    cr_assert_null(json_object_get(prof, "source"));
    cr_assert_eq(json_object_size(j), NKEYS + 2);
    json_decref(j);
    free(text);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_print, errors)
{
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_new(NULL, &cfg, NULL), MSB_OK);
    cr_assert_eq(msb_config_print(cfg, stdout, 0, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: not loaded; call msb_config_load first");
    cr_assert_eq(msb_config_load(cfg, 0, NULL, NULL), MSB_OK);
    cr_assert_eq(msb_config_print(cfg, NULL, 0, &err), MSB_EINVAL);
    cr_assert_eq(msb_config_print_help(NULL, stdout, &err), MSB_EINVAL);
    FILE *full = fopen("/dev/full", "w");
    cr_assert_not_null(full);
    cr_assert_eq(msb_config_print(cfg, full, 0, &err), MSB_EIO);
    cr_assert_str_eq(err.message, "config: writing the configuration failed");
    cr_assert_eq(msb_config_print_help(cfg, full, &err), MSB_EIO);
    fclose(full);
    msb_config_free(cfg);
}

Test(config_print, help)
{
    msb_config_t *cfg = NULL;
    cr_assert_eq(msb_config_new(NULL, &cfg, NULL), MSB_OK);
    cr_assert_eq(msb_config_add_keys(cfg, keys + 1, 4, sizeof(keys[0]), NULL), MSB_OK);
    const char *argv[] = {"/usr/local/bin/svc", "--help", NULL};
    cr_assert_eq(msb_config_load(cfg, 2, argv, NULL), MSB_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(msb_config_print_help(cfg, f, NULL), MSB_OK);
    fclose(f);
    const char *want =
        "Usage: svc [--key=value ...] [--print-config] [--help] [--] [ARG ...]\n"
        "\n"
        "Every option can also be set in the JSON configuration file ({\"http\": {\"listen\": "
        "...}}),\n"
        "in the environment (MSB_HTTP__LISTEN), and read from a file by adding _file to its "
        "name.\n"
        "Precedence: command line > environment > profile file > file > default.\n"
        "\n"
        "Options:\n"
        "  --config=<string>  (env MSB_CONFIG)\n"
        "      Path of the JSON configuration file; the profile overlay <name>.<profile>.json is "
        "read from\n"
        "      beside it. Empty: no file.\n"
        "  --http.listen=<string>  (env MSB_HTTP__LISTEN)\n"
        "      Address to listen on. [default \"127.0.0.1:8080\"]\n"
        "  --http.max_body=<size>  (env MSB_HTTP__MAX_BODY)\n"
        "      [default 1MiB; at least 1KiB]\n"
        "  --http.timeout=<duration>  (env MSB_HTTP__TIMEOUT)\n"
        "      Deadline of one request. [default 5s; 1ms to 10m; reloadable]\n"
        "  --log.level=<string>  (env MSB_LOG__LEVEL)\n"
        "      [default \"info\"; one of debug, info, warn; reloadable]\n"
        "  --profile=<string>  (env MSB_PROFILE)\n"
        "      Profile whose overlay file is applied over the configuration file. [one of dev, "
        "staging, prod]\n"
        "  --print-config\n"
        "      Print the effective configuration with the source of each value, then exit.\n"
        "  --help, -h\n"
        "      Print this help, then exit.\n";
    cr_assert_str_eq(text, want);
    free(text);
    msb_config_free(cfg);
}

Test(config_print, help_hides_secret_defaults_and_flags_required)
{
    msb_config_t *cfg = NULL;
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.env_prefix = "";
    cr_assert_eq(msb_config_new(&o, &cfg, NULL), MSB_OK);
    cr_assert_eq(msb_config_add_keys(cfg, keys + 8, 2, sizeof(keys[0]), NULL), MSB_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(msb_config_print_help(cfg, f, NULL), MSB_OK, "works before loading");
    fclose(f);
    cr_assert_not_null(strstr(text, "Usage: PROGRAM "));
    cr_assert_not_null(strstr(text, "and read from a file by adding _file to its name.\n"));
    cr_assert_not_null(strstr(text, "  --api.key=<string>\n      [default <redacted>; secret]\n"));
    cr_assert_not_null(strstr(text, "  --workers=<integer>\n      [required]\n"));
    cr_assert_null(strstr(text, "dev-key"));
    cr_assert_null(strstr(text, "(env "));
    free(text);
    msb_config_free(cfg);
}
