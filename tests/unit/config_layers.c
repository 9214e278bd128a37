/* The layers and their precedence: defaults < file < profile file < environment < command line. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/msb.h"
#include "support/config_test.h"

static const msb_config_key_t keys[] = {
    {.name = "http.listen", .type = MSB_CONFIG_STRING, .default_value = "127.0.0.1:8080"},
    {.name = "http.read_timeout", .type = MSB_CONFIG_DURATION, .default_value = "5s"},
    {.name = "http.max_body", .type = MSB_CONFIG_SIZE, .default_value = "1MiB"},
    {.name = "db.read_replica.dsn", .type = MSB_CONFIG_STRING},
    {.name = "port", .type = MSB_CONFIG_INT, .default_value = "80", .min = "1", .max = "65535"},
    {.name = "ratio", .type = MSB_CONFIG_DOUBLE, .default_value = "0.5"},
    {.name = "debug", .type = MSB_CONFIG_BOOL, .default_value = "false"},
    {.name = "cors.origins", .type = MSB_CONFIG_LIST},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *str(const msb_config_t *cfg, const char *key)
{
    const char *s = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_get_string(cfg, key, &s, &err), MSB_OK, "%s", err.message);
    return s;
}

static const char *source(const msb_config_t *cfg, const char *key, msb_config_layer_t *layer)
{
    static char buf[256];
    cr_assert_eq(msb_config_get_source(cfg, key, layer, buf, sizeof(buf), NULL), MSB_OK);
    return buf;
}

/* Load with a file holding json (when not NULL) as opts.file; returns the status. */
static msb_status_t load_file(ct_dir_t *d, const char *json, const char *const *argv,
                              char *const *env, msb_config_t **cfg, msb_error_t *err)
{
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    if (json != NULL) {
        o.file = ct_write(d, "app.json", json);
    }
    return ct_load(&o, keys, NKEYS, argv, env, cfg, err);
}

Test(config_layers, defaults_only)
{
    msb_config_t *cfg;
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, NULL, &cfg, NULL), MSB_OK);
    cr_assert_str_eq(str(cfg, "http.listen"), "127.0.0.1:8080");
    msb_config_layer_t l;
    cr_assert_str_eq(source(cfg, "http.listen", &l), "default");
    cr_assert_eq(l, MSB_CONFIG_LAYER_DEFAULT);
    cr_assert_eq(msb_config_action(cfg), MSB_CONFIG_ACTION_RUN);
    msb_config_free(cfg);
}

Test(config_layers, precedence)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *json = "{\n  \"http\": {\n    \"listen\": \"file:1\"\n  },\n  \"port\": 81\n}\n";
    char *env[] = {"MSB_HTTP__LISTEN=env:2", "MSB_PORT=82", NULL};
    const char *argv[] = {"prog", "--http.listen=args:3", NULL};
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_layer_t l;

    cr_assert_eq(load_file(&d, json, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "file:1");
    char want[128];
    snprintf(want, sizeof(want), "%s/app.json:3", d.path);
    cr_assert_str_eq(source(cfg, "http.listen", &l), want);
    cr_assert_eq(l, MSB_CONFIG_LAYER_FILE);
    msb_config_free(cfg);

    cr_assert_eq(load_file(&d, json, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "env:2");
    cr_assert_str_eq(source(cfg, "http.listen", &l), "MSB_HTTP__LISTEN");
    cr_assert_eq(l, MSB_CONFIG_LAYER_ENV);
    int64_t port;
    cr_assert_eq(msb_config_get_int(cfg, "port", &port, NULL), MSB_OK);
    cr_assert_eq(port, 82);
    msb_config_free(cfg);

    cr_assert_eq(load_file(&d, json, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "args:3");
    cr_assert_str_eq(source(cfg, "http.listen", &l), "--http.listen");
    cr_assert_eq(l, MSB_CONFIG_LAYER_ARGS);
    cr_assert_eq(msb_config_get_int(cfg, "port", &port, NULL), MSB_OK);
    cr_assert_eq(port, 82, "env still beats the file for keys the command line leaves alone");
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_layers, profile_overlay)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = ct_write(&d, "app.json",
                      "{\"http\": {\"listen\": \"base\", \"read_timeout\": \"1s\"}, "
                      "\"port\": 81, \"db\": {\"read_replica\": {\"dsn\": \"x\"}}}");
    ct_write(&d, "app.prod.json",
             "{\n\"http.listen\": \"prod\",\n\"db\": {\"read_replica\": "
             "{\"dsn\": null}}}");
    ct_write(&d, "app.dev.json", "{\"http\": {\"listen\": \"dev\"}}");
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    const char *argv[] = {"prog", "--profile=prod", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, argv, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "prod");
    char want[128];
    snprintf(want, sizeof(want), "%s/app.prod.json:2", d.path);
    cr_assert_str_eq(source(cfg, "http.listen", NULL), want);
    int64_t ns;
    cr_assert_eq(msb_config_get_duration(cfg, "http.read_timeout", &ns, NULL), MSB_OK);
    cr_assert_eq(ns, MSB_SEC, "the base file still provides what the overlay leaves alone");
    const char *s;
    cr_assert_eq(msb_config_get_string(cfg, "db.read_replica.dsn", &s, &err), MSB_ENOTFOUND,
                 "null in the overlay removes the base file's value");
    cr_assert_str_eq(str(cfg, "profile"), "prod");
    cr_assert_str_eq(source(cfg, "profile", NULL), "--profile");
    msb_config_free(cfg);

    /* the environment chooses; the command line beats it; the option is the fallback */
    char *env[] = {"MSB_PROFILE=dev", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "dev");
    msb_config_free(cfg);
    cr_assert_eq(ct_load(&o, keys, NKEYS, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "prod");
    msb_config_free(cfg);
    o.profile = "dev";
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "dev");
    cr_assert_str_eq(source(cfg, "profile", NULL), "default");
    msb_config_free(cfg);

    /* a profile without an overlay file is fine; an empty profile is none */
    const char *staging[] = {"prog", "--profile=staging", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, staging, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "base");
    msb_config_free(cfg);
    const char *none[] = {"prog", "--profile=", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, none, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "base");
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_layers, profile_errors_and_custom_lists)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    const char *typo[] = {"prog", "--profile=prdo", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, typo, NULL, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "profile: \"prdo\" is not one of dev, staging, prod (from "
                                  "--profile); did you mean \"prod\"?");
    char *env[] = {"MSB_PROFILE=qa", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "profile: \"qa\" is not one of dev, staging, prod (from "
                                  "MSB_PROFILE)");
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.profiles = "local|qa";
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_free(cfg);
    o.profiles = "";
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "profile: \"qa\" is not one of (no profiles are defined) (from "
                                  "MSB_PROFILE)");
}

Test(config_layers, overlay_path_without_json_suffix)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = ct_write(&d, "app.conf", "{\"port\": 1}");
    ct_write(&d, "app.conf.dev.json", "{\"port\": 2}");
    o.profile = "dev";
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    int64_t port;
    msb_config_get_int(cfg, "port", &port, NULL);
    cr_assert_eq(port, 2);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_layers, file_selection)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/none.json", d.path);
    o.file = missing;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_OK,
                 "a missing default file means defaults");
    msb_config_free(cfg);
    o.file_required = true;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_ENOTFOUND);
    char want[256];
    snprintf(want, sizeof(want),
             "configuration file: cannot read %s: No such file or directory (from the options)",
             missing);
    cr_assert_str_eq(err.message, want);
    o.file_required = false;

    char arg[160];
    snprintf(arg, sizeof(arg), "--config=%s", missing);
    const char *argv[] = {"prog", arg, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_ENOTFOUND);
    snprintf(want, sizeof(want),
             "configuration file: cannot read %s: No such file or directory (from --config)",
             missing);
    cr_assert_str_eq(err.message, want);

    char envv[160];
    snprintf(envv, sizeof(envv), "MSB_CONFIG=%s", missing);
    char *env[] = {envv, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_ENOTFOUND);
    snprintf(want, sizeof(want),
             "configuration file: cannot read %s: No such file or directory (from MSB_CONFIG)",
             missing);
    cr_assert_str_eq(err.message, want);

    /* --config beats MSB_CONFIG; --config= (empty) means no file at all */
    const char *good = ct_write(&d, "good.json", "{\"port\": 7}");
    snprintf(arg, sizeof(arg), "--config=%s", good);
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "config"), good);
    msb_config_free(cfg);
    const char *off[] = {"prog", "--config=", NULL};
    o.file = ct_write(&d, "broken.json", "{");
    cr_assert_eq(ct_load(&o, keys, NKEYS, off, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_free(cfg);

    /* a directory, and a file over the limit */
    const char *dir[] = {"prog", "--config", d.path, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, dir, NULL, &cfg, &err), MSB_EIO);
    snprintf(want, sizeof(want),
             "configuration file: cannot read %s: it is a directory (from "
             "--config)",
             d.path);
    cr_assert_str_eq(err.message, want);
    o.file = ct_write(&d, "big.json", "{\"http\": {\"listen\": \"0123456789\"}}");
    o.file_max = 16;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_ETOOBIG);
    snprintf(want, sizeof(want),
             "configuration file: %s is larger than 16 bytes (from the "
             "options)",
             o.file);
    cr_assert_str_eq(err.message, want);
    ct_dir_free(&d);
}

/* Load json and expect a failure whose message is `fmt` with the file path substituted. */
static void json_fails(const char *json, msb_status_t code, const char *fmt)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(load_file(&d, json, NULL, NULL, &cfg, &err), code, "%s: %s", json, err.message);
    char want[512];
    const char *at = strstr(fmt, "%s");
    cr_assert_not_null(at);
    snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - fmt), fmt, d.files[0], at + 2);
    cr_assert_str_eq(err.message, want, "for %s: got %s", json, err.message);
    ct_dir_free(&d);
}

Test(config_layers, json_errors)
{
    json_fails("{\n  \"port\": 1,\n  \"http\": {\"listen\" \"x\"}\n}", MSB_EINVAL,
               "%s:3:23: invalid JSON: ':' expected near '\"x\"'");
    json_fails("[1, 2]", MSB_EINVAL, "%s: the top level must be a JSON object {…}");
    json_fails("", MSB_EINVAL, "%s:1:0: invalid JSON: '[' or '{' expected near end of file");
    json_fails("{\"port\": 1, \"port\": 2}", MSB_EINVAL,
               "%s:1:18: invalid JSON: duplicate object key near '\"port\"'");
    json_fails("{\n\"http.listen\": \"a\",\n\"http\": {\n  \"listen\": \"b\"}}", MSB_EINVAL,
               "\"http.listen\" is set twice in %s (lines 2 and 4)");
    json_fails("{\n\"http\": {\n\"listn\": \"x\"}}", MSB_EINVAL,
               "unknown key \"http.listn\" (from %s:3); did you mean \"http.listen\"?");
    json_fails("{\n\"htp\": {\"listen\": \"x\"}}", MSB_EINVAL,
               "unknown key \"htp.listen\" (from %s:2); did you mean \"http.listen\"?");
    json_fails("{\"zzz\": {}}", MSB_EINVAL, "unknown section \"zzz\" (from %s:1)");
    json_fails("{\"unrelated\": 1}", MSB_EINVAL, "unknown key \"unrelated\" (from %s:1)");
    json_fails("{\"http\": 1}", MSB_EINVAL,
               "\"http\" is a section, not a value: write an object such as {\"listen\": …} "
               "(from %s:1)");
    json_fails("{\"http\": {\"listen\": {\"x\": 1}}}", MSB_EINVAL,
               "http.listen: expected a string, got an object (from %s:1)");
    json_fails("{\"profile\": \"dev\"}", MSB_EINVAL,
               "\"profile\" cannot be set in a configuration file; use --profile or the "
               "environment (from %s:1)");
    json_fails("{\"config\": \"x.json\"}", MSB_EINVAL,
               "\"config\" cannot be set in a configuration file; use --config or the "
               "environment (from %s:1)");
    json_fails("{\"port\": 1.5}", MSB_EINVAL,
               "port: expected an integer, got a number with a fraction (from %s:1)");
    json_fails("{\"port\": true}", MSB_EINVAL,
               "port: expected an integer, got a boolean (from %s:1)");
    json_fails("{\"port\": 0}", MSB_ERANGE, "port: 0 is below the minimum 1 (from %s:1)");
    json_fails("{\"port\": \"99999\"}", MSB_ERANGE,
               "port: 99999 is above the maximum 65535 (from %s:1)");
    json_fails("{\"http\": {\"read_timeout\": 30}}", MSB_EINVAL,
               "http.read_timeout: a duration needs a unit: write it as a string such as "
               "\"30s\" or \"250ms\" (from %s:1)");
    json_fails("{\"http\": {\"max_body\": -1}}", MSB_EINVAL,
               "http.max_body: negative sizes are not allowed, got -1 (from %s:1)");
    json_fails("{\"http\": {\"max_body\": 1.5}}", MSB_EINVAL,
               "http.max_body: expected a size such as 512, 64KiB or 1MB, got a number with a "
               "fraction (from %s:1)");
    json_fails("{\"cors\": {\"origins\": [\"a\", 2]}}", MSB_EINVAL,
               "cors.origins: item 2 of the array is not a string (from %s:1)");
    json_fails("{\"debug\": \"maybe\"}", MSB_EINVAL,
               "debug: expected true or false (or yes/no, on/off, 1/0), got \"maybe\" (from "
               "%s:1)");
    json_fails("{\"http\": {\"listen\": 8080}}", MSB_EINVAL,
               "http.listen: expected a string, got an integer (from %s:1)");
    json_fails("{\"ratio\": [1]}", MSB_EINVAL,
               "ratio: expected a number, got an array (from %s:1)");
}

Test(config_layers, json_nesting_is_bounded)
{
    char json[2048] = "";
    for (int i = 0; i < 200; i++) {
        strcat(json, "{\"a\":");
    }
    strcat(json, "1");
    for (int i = 0; i < 200; i++) {
        strcat(json, "}");
    }
    json_fails(json, MSB_EINVAL, "%s: objects nested deeper than any key");
}

Test(config_layers, json_values)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    const char *json = "\xEF\xBB\xBF{\"http.read_timeout\": 0, \"http\": {\"max_body\": 4096, "
                       "\"listen\": \"a\\u00e9\\ud83d\\ude00\"}, \"ratio\": 2, \"debug\": \"on\", "
                       "\"port\": \"8080\", \"cors\": {\"origins\": [\"x\", \"y, z\"]}}";
    cr_assert_eq(load_file(&d, json, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    int64_t ns = 1;
    uint64_t bytes = 0;
    double r = 0;
    bool dbg = false;
    int64_t port = 0;
    msb_config_list_t l;
    cr_assert_eq(msb_config_get_duration(cfg, "http.read_timeout", &ns, NULL), MSB_OK);
    cr_assert_eq(ns, 0);
    cr_assert_eq(msb_config_get_size(cfg, "http.max_body", &bytes, NULL), MSB_OK);
    cr_assert_eq(bytes, 4096);
    cr_assert_eq(msb_config_get_double(cfg, "ratio", &r, NULL), MSB_OK);
    cr_assert_float_eq(r, 2.0, 1e-12);
    cr_assert_eq(msb_config_get_bool(cfg, "debug", &dbg, NULL), MSB_OK);
    cr_assert(dbg);
    cr_assert_eq(msb_config_get_int(cfg, "port", &port, NULL), MSB_OK);
    cr_assert_eq(port, 8080);
    cr_assert_eq(msb_config_get_list(cfg, "cors.origins", &l, NULL), MSB_OK);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[1], "y, z", "array items are taken verbatim");
    cr_assert_str_eq(str(cfg, "http.listen"), "a\xC3\xA9\xF0\x9F\x98\x80");
    char want[128];
    snprintf(want, sizeof(want), "%s:1", d.files[0]);
    cr_assert_str_eq(source(cfg, "http.listen", NULL), want);
    msb_config_free(cfg);

    /* sections may be split between flat and nested spellings; empty known sections are fine */
    json = "{\"http\": {\"listen\": \"n\"}, \"http.max_body\": \"2KiB\", \"db\": {}, "
           "\"db.read_replica\": {\"dsn\": \"d\"}, \"cors\": {\"origins\": \"p,q\"}}";
    cr_assert_eq(load_file(&d, json, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_config_get_size(cfg, "http.max_body", &bytes, NULL), MSB_OK);
    cr_assert_eq(bytes, 2048);
    cr_assert_str_eq(str(cfg, "db.read_replica.dsn"), "d");
    cr_assert_eq(msb_config_get_list(cfg, "cors.origins", &l, NULL), MSB_OK);
    cr_assert_eq(l.count, 2);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_layers, environment)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    char *env[] = {"PATH=/bin",
                   "MSB_DB__READ_REPLICA__DSN=postgres://r",
                   "MSB_CORS__ORIGINS=a,b\\,c",
                   "MSB_HTTP__MAX_BODY= 64KiB ",
                   "MSB_PLUGIN_DIR=/opt/plugins",
                   "MSB_TEST__REDIS2__URL=redis://x",
                   "MSB_NOEQUALS",
                   "OTHER_MSB_X=1",
                   NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "db.read_replica.dsn"), "postgres://r");
    cr_assert_str_eq(source(cfg, "db.read_replica.dsn", NULL), "MSB_DB__READ_REPLICA__DSN");
    msb_config_list_t l;
    cr_assert_eq(msb_config_get_list(cfg, "cors.origins", &l, NULL), MSB_OK);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[1], "b,c");
    uint64_t b;
    cr_assert_eq(msb_config_get_size(cfg, "http.max_body", &b, NULL), MSB_OK);
    cr_assert_eq(b, 65536);
    msb_config_free(cfg);

    /* an empty value is an empty string (and an error for typed keys) */
    char *empty[] = {"MSB_HTTP__LISTEN=", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, empty, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "http.listen"), "");
    msb_config_free(cfg);
    char *empty_int[] = {"MSB_PORT=", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, empty_int, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "port: empty value; expected an integer (from MSB_PORT)");

    /* another prefix; no prefix: the environment is not read */
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.env_prefix = "APP_";
    char *app[] = {"APP_PORT=9", "MSB_PORT=x", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, app, &cfg, &err), MSB_OK, "%s", err.message);
    int64_t port;
    msb_config_get_int(cfg, "port", &port, NULL);
    cr_assert_eq(port, 9);
    msb_config_free(cfg);
    o.env_prefix = "";
    char *ignored[] = {"PORT=x", "MSB_PORT=x", NULL};
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, ignored, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_free(cfg);
}

static void env_fails(char *var, const char *message)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    char *env[] = {var, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_EINVAL, "%s", var);
    cr_assert_str_eq(err.message, message);
}

#define BAD_NAME(v)                                                                                \
    v " is not a configuration variable name: after MSB_ write the key in upper case with __ "     \
      "between sections, like MSB_HTTP__LISTEN"

Test(config_layers, environment_errors)
{
    env_fails("MSB_HTTP__LISTN=x",
              "unknown key \"http.listn\" (from MSB_HTTP__LISTN); did you mean MSB_HTTP__LISTEN?");
    env_fails("MSB_HTTP_LISTEN=x",
              "unknown key \"http_listen\" (from MSB_HTTP_LISTEN); did you mean MSB_HTTP__LISTEN?");
    env_fails("MSB_NOTHING_LIKE_IT=x",
              "unknown key \"nothing_like_it\" (from MSB_NOTHING_LIKE_IT)");
    env_fails("MSB_http__listen=x", BAD_NAME("MSB_http__listen"));
    env_fails("MSB_HTTP___LISTEN=x", BAD_NAME("MSB_HTTP___LISTEN"));
    env_fails("MSB__PORT=x", BAD_NAME("MSB__PORT"));
    env_fails("MSB_PORT_=x", BAD_NAME("MSB_PORT_"));
    env_fails("MSB_=x", BAD_NAME("MSB_"));
    env_fails("MSB_PORT=8o", "port: expected an integer, got \"8o\" (from MSB_PORT)");
}

static int warnings;
static char last_warning[256];

static void on_warn(void *user, const char *message)
{
    (void)user;
    warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", message);
}

Test(config_layers, unknown_environment_policies)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    char *env[] = {"MSB_HTTP__LISTN=x", "MSB_lower=1", "MSB_PORT=5", NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.unknown_env = MSB_CONFIG_UNKNOWN_WARN;
    o.warn = on_warn;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(warnings, 2);
    cr_assert_str_eq(last_warning, BAD_NAME("MSB_lower"));
    cr_assert_eq(err.code, MSB_OK, "err untouched on success");
    int64_t port;
    msb_config_get_int(cfg, "port", &port, NULL);
    cr_assert_eq(port, 5);
    msb_config_free(cfg);
    o.warn = NULL;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK);
    msb_config_free(cfg);
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.unknown_env = MSB_CONFIG_UNKNOWN_IGNORE;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK);
    msb_config_free(cfg);
}

Test(config_layers, command_line)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    const char *argv[] = {"/usr/bin/prog",
                          "in1",
                          "--port",
                          "8081",
                          "--debug",
                          "--ratio=0.25",
                          "--http.read-timeout=1m",
                          "-",
                          "--http.listen",
                          "-weird",
                          "--port=9000",
                          "--cors.origins=",
                          "--",
                          "--port=1",
                          "-x",
                          NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    int64_t port;
    bool dbg;
    int64_t ns;
    msb_config_list_t l;
    msb_config_get_int(cfg, "port", &port, NULL);
    cr_assert_eq(port, 9000, "the last of a repeated option wins");
    cr_assert_str_eq(source(cfg, "port", NULL), "--port");
    msb_config_get_bool(cfg, "debug", &dbg, NULL);
    cr_assert(dbg);
    msb_config_get_duration(cfg, "http.read_timeout", &ns, NULL);
    cr_assert_eq(ns, 60 * MSB_SEC);
    cr_assert_str_eq(source(cfg, "http.read_timeout", NULL), "--http.read-timeout");
    cr_assert_str_eq(str(cfg, "http.listen"), "-weird");
    cr_assert_eq(msb_config_get_list(cfg, "cors.origins", &l, NULL), MSB_OK);
    cr_assert_eq(l.count, 0);
    size_t n;
    const char *const *args = msb_config_args(cfg, &n);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(args[0], "in1");
    cr_assert_str_eq(args[1], "-");
    cr_assert_str_eq(args[2], "--port=1");
    cr_assert_str_eq(args[3], "-x");
    cr_assert_null(args[4]);
    msb_config_free(cfg);

    /* booleans take their value only after = */
    const char *b[] = {"prog", "--debug", "false", "--debug=no", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, b, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_get_bool(cfg, "debug", &dbg, NULL);
    cr_assert_not(dbg);
    cr_assert_str_eq(msb_config_args(cfg, &n)[0], "false");
    msb_config_free(cfg);
}

static void args_fail(const char *const *argv, const char *message)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_EINVAL, "%s", argv[1]);
    cr_assert_str_eq(err.message, message);
}

Test(config_layers, command_line_errors)
{
    args_fail((const char *[]){"p", "--http.listn=1", NULL},
              "unknown option --http.listn; did you mean --http.listen?");
    args_fail((const char *[]){"p", "--http.read-timout", "1s", NULL},
              "unknown option --http.read-timout; did you mean --http.read_timeout?");
    args_fail((const char *[]){"p", "--zzzzzz", NULL},
              "unknown option --zzzzzz (see --help for the options)");
    args_fail((const char *[]){"p", "-x", NULL},
              "unknown option -x: options are written --key=value (see --help)");
    args_fail((const char *[]){"p", "--=1", NULL}, "option --=1 has no name; write --key=value");
    args_fail((const char *[]){"p", "--port", NULL},
              "option --port needs a value: --port=VALUE or --port VALUE");
    args_fail((const char *[]){"p", "--port", "--debug", NULL},
              "option --port needs a value: --port=VALUE or --port VALUE");
    args_fail((const char *[]){"p", "--print-config=yes", NULL},
              "option --print-config takes no value");
    args_fail((const char *[]){"p", "--port=x", NULL},
              "port: expected an integer, got \"x\" (from --port)");
    args_fail((const char *[]){"p", "--http.read_timeout=-1s", NULL},
              "http.read_timeout: negative durations are not allowed, got \"-1s\" (from "
              "--http.read_timeout)");
    args_fail((const char *[]){"p", "--cors.origins=a,,b", NULL},
              "cors.origins: empty item 2 in a comma-separated list (from --cors.origins)");
}

Test(config_layers, actions)
{
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    const char *pc[] = {"prog", "--print-config", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, pc, NULL, &cfg, &err), MSB_OK);
    cr_assert_eq(msb_config_action(cfg), MSB_CONFIG_ACTION_PRINT_CONFIG);
    msb_config_free(cfg);
    /* --help wins over anything else, even invalid options, and reads nothing */
    const char *h[] = {"prog", "--bogus", "--port=x", "--help", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, h, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_config_action(cfg), MSB_CONFIG_ACTION_HELP);
    cr_assert_eq(msb_config_get_int(cfg, "port", &(int64_t){0}, &err), MSB_EINVAL);
    msb_config_free(cfg);
    const char *h2[] = {"prog", "-h", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, h2, NULL, &cfg, &err), MSB_OK);
    cr_assert_eq(msb_config_action(cfg), MSB_CONFIG_ACTION_HELP);
    msb_config_free(cfg);
    const char *after[] = {"prog", "--", "--help", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, after, NULL, &cfg, &err), MSB_OK);
    cr_assert_eq(msb_config_action(cfg), MSB_CONFIG_ACTION_RUN);
    msb_config_free(cfg);
    /* a failed load forgets the action */
    const char *bad[] = {"prog", "--print-config", "--port=x", NULL};
    msb_config_t *c2 = NULL;
    cr_assert_eq(msb_config_new(NULL, &c2, NULL), MSB_OK);
    cr_assert_eq(msb_config_add_keys(c2, MSB_CONFIG_KEYS(keys), NULL), MSB_OK);
    cr_assert_eq(msb_config_load(c2, 3, bad, &err), MSB_EINVAL);
    cr_assert_eq(msb_config_action(c2), MSB_CONFIG_ACTION_RUN);
    /* and may be retried */
    cr_assert_eq(msb_config_load(c2, 2, bad, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_config_action(c2), MSB_CONFIG_ACTION_PRINT_CONFIG);
    msb_config_free(c2);
}

Test(config_layers, required_keys)
{
    static const msb_config_key_t req[] = {
        {.name = "db.dsn", .type = MSB_CONFIG_STRING, .flags = MSB_CONFIG_REQUIRED}};
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(NULL, req, 1, NULL, NULL, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "db.dsn: required but not set (set it in the configuration "
                                  "file, as MSB_DB__DSN or as --db.dsn)");
    char *env[] = {"MSB_DB__DSN=postgres://x", NULL};
    cr_assert_eq(ct_load(NULL, req, 1, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_free(cfg);
}
