/* Declaring keys (msb_config_add_keys), the options, and the getters' errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/internal.h"
#include "msb/msb.h"
#include "support/config_test.h"

static msb_config_t *fresh(void)
{
    msb_config_t *cfg = NULL;
    cr_assert_eq(msb_config_new(NULL, &cfg, NULL), MSB_OK);
    return cfg;
}

/* Add one key and return the status, with its message in err. */
static msb_status_t add_one(msb_config_key_t k, msb_error_t *err)
{
    msb_config_t *cfg = fresh();
    msb_status_t rc = msb_config_add_keys(cfg, &k, 1, sizeof(k), err);
    msb_config_free(cfg);
    return rc;
}

#define ADD_BAD(code, msg, ...)                                                                    \
    do {                                                                                           \
        msb_error_t e_ = MSB_ERROR_INIT;                                                           \
        msb_config_key_t k_ = {__VA_ARGS__};                                                       \
        cr_assert_eq(add_one(k_, &e_), code, "%s", e_.message);                                    \
        cr_assert_str_eq(e_.message, msg);                                                         \
    } while (0)

Test(config_schema, key_names)
{
    const char *good[] = {"a", "http.listen", "db.read_replica.dsn", "a1.b2", "x_1_y.z9"};
    const char *bad[] = {"",     "Http", "http..listen", ".a",   "a.",   "a_", "_a",
                         "a__b", "a-b",  "a b",          "a._b", "a_.b", "é",  "a\tb"};
    for (size_t i = 0; i < MSB_ARRAY_LEN(good); i++) {
        cr_assert(msb__config_valid_name(good[i], strlen(good[i])), "%s", good[i]);
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(bad); i++) {
        cr_assert_not(msb__config_valid_name(bad[i], strlen(bad[i])), "%s", bad[i]);
    }
    char longest[CFG_KEY_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    cr_assert(msb__config_valid_name(longest, CFG_KEY_MAX));
    cr_assert_not(msb__config_valid_name(longest, CFG_KEY_MAX + 1));
}

Test(config_schema, add_errors_have_exact_messages)
{
    ADD_BAD(MSB_EINVAL,
            "config: key name \"Http.listen\" is invalid: use lower-case segments [a-z0-9] (words "
            "joined by single _) separated by dots, at most 128 bytes",
            .name = "Http.listen", .type = MSB_CONFIG_STRING);
    ADD_BAD(MSB_EINVAL,
            "config: key name \"(null)\" is invalid: use lower-case segments [a-z0-9] (words "
            "joined by single _) separated by dots, at most 128 bytes",
            .name = NULL, .type = MSB_CONFIG_STRING);
    ADD_BAD(MSB_EINVAL, "config: x: type 9 is not a msb_config_type_t", .name = "x",
            .type = (msb_config_type_t)9);
    ADD_BAD(MSB_EINVAL, "config: x: type 0 is not a msb_config_type_t", .name = "x",
            .type = (msb_config_type_t)0);
    ADD_BAD(MSB_EINVAL, "config: x: unknown flags 0x100", .name = "x", .type = MSB_CONFIG_INT,
            .flags = 0x100);
    ADD_BAD(MSB_EINVAL, "config: x: a required key cannot have a default", .name = "x",
            .type = MSB_CONFIG_INT, .default_value = "1", .flags = MSB_CONFIG_REQUIRED);
    ADD_BAD(MSB_EINVAL,
            "config: x: min and max apply only to integer, number, duration and size keys",
            .name = "x", .type = MSB_CONFIG_STRING, .min = "1");
    ADD_BAD(MSB_EINVAL,
            "config: x: min and max apply only to integer, number, duration and size keys",
            .name = "x", .type = MSB_CONFIG_BOOL, .max = "1");
    ADD_BAD(MSB_EINVAL, "config: x: choices must be non-empty words separated by | on a string key",
            .name = "x", .type = MSB_CONFIG_INT, .choices = "a|b");
    ADD_BAD(MSB_EINVAL, "config: x: choices must be non-empty words separated by | on a string key",
            .name = "x", .type = MSB_CONFIG_STRING, .choices = "a||b");
    ADD_BAD(MSB_EINVAL, "config: x: choices must be non-empty words separated by | on a string key",
            .name = "x", .type = MSB_CONFIG_STRING, .choices = "");
    ADD_BAD(MSB_EINVAL, "config: default of x: expected an integer, got \"abc\"", .name = "x",
            .type = MSB_CONFIG_INT, .default_value = "abc");
    ADD_BAD(MSB_EINVAL, "config: default of x: 0 is below the minimum 1", .name = "x",
            .type = MSB_CONFIG_INT, .default_value = "0", .min = "1");
    ADD_BAD(MSB_EINVAL, "config: default of x: 2m is above the maximum 1m", .name = "x",
            .type = MSB_CONFIG_DURATION, .default_value = "120s", .max = "1m");
    ADD_BAD(MSB_EINVAL, "config: default of x: \"z\" is not one of a, b", .name = "x",
            .type = MSB_CONFIG_STRING, .default_value = "z", .choices = "a|b");
    ADD_BAD(MSB_EINVAL,
            "config: min of x: unknown unit \"q\" in \"1q\" (units: B, kB, MB, GB, TB, PB, EB "
            "(powers of 1000), KiB, MiB, GiB, TiB, PiB, EiB)",
            .name = "x", .type = MSB_CONFIG_SIZE, .min = "1q");
    ADD_BAD(MSB_EINVAL, "config: max of x: expected a number, got \"big\"", .name = "x",
            .type = MSB_CONFIG_DOUBLE, .max = "big");
    ADD_BAD(MSB_EINVAL, "config: x: min 10s is above max 1s", .name = "x",
            .type = MSB_CONFIG_DURATION, .min = "10s", .max = "1s");
    ADD_BAD(MSB_EEXIST, "config: key config is declared twice", .name = "config",
            .type = MSB_CONFIG_STRING);
    ADD_BAD(MSB_EEXIST,
            "config: key profile is also the section of profile.name; a name is either a value "
            "or a section",
            .name = "profile.name", .type = MSB_CONFIG_STRING);
}

Test(config_schema, duplicates_and_sections_across_tables)
{
    static const msb_config_key_t a[] = {{.name = "http.listen", .type = MSB_CONFIG_STRING}};
    static const msb_config_key_t dup[] = {{.name = "x", .type = MSB_CONFIG_INT},
                                           {.name = "x", .type = MSB_CONFIG_INT}};
    static const msb_config_key_t sec[] = {{.name = "http", .type = MSB_CONFIG_STRING}};
    static const msb_config_key_t sub[] = {{.name = "http.listen.port", .type = MSB_CONFIG_INT}};
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_t *cfg = fresh();
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(a), &err), MSB_OK);
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(a), &err), MSB_EEXIST);
    cr_assert_str_eq(err.message, "config: key http.listen is declared twice");
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(dup), &err), MSB_EEXIST);
    cr_assert_str_eq(err.message, "config: key x is declared twice");
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(sec), &err), MSB_EEXIST);
    cr_assert_str_eq(err.message, "config: key http is also the section of http.listen; a name "
                                  "is either a value or a section");
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(sub), &err), MSB_EEXIST);
    cr_assert_str_eq(err.message, "config: key http.listen is also the section of "
                                  "http.listen.port; a name is either a value or a section");
    /* failed calls added nothing: 'x' is still free */
    static const msb_config_key_t x[] = {
        {.name = "x", .type = MSB_CONFIG_INT, .default_value = "5"}};
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(x), &err), MSB_OK, "%s", err.message);
    cr_assert_eq(cfg->nkeys, 4);
    msb_config_free(cfg);
}

Test(config_schema, failed_table_leaves_schema_unchanged)
{
    static const msb_config_key_t t[] = {
        {.name = "a.one", .type = MSB_CONFIG_STRING, .default_value = "x"},
        {.name = "a.two", .type = MSB_CONFIG_LIST, .default_value = "p,q"},
        {.name = "a.bad", .type = MSB_CONFIG_INT, .default_value = "nope"}};
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_t *cfg = fresh();
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(t), &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: default of a.bad: expected an integer, got \"nope\"");
    cr_assert_eq(cfg->nkeys, 2); /* the built-ins only */
    cr_assert_eq(msb_config_add_keys(cfg, t, 2, sizeof(t[0]), &err), MSB_OK);
    cr_assert_eq(cfg->nkeys, 4);
    msb_config_free(cfg);
}

Test(config_schema, larger_elements_from_newer_headers)
{
    /* A table compiled against a future header whose key struct has grown. */
    struct newer {
        msb_config_key_t k;
        int added_later;
    };
    static const struct newer t[] = {
        {{.name = "a", .type = MSB_CONFIG_INT, .default_value = "1"}, 7},
        {{.name = "b", .type = MSB_CONFIG_BOOL, .default_value = "yes"}, 8}};
    msb_config_t *cfg = fresh();
    cr_assert_eq(msb_config_add_keys(cfg, &t[0].k, 2, sizeof(t[0]), NULL), MSB_OK);
    cr_assert_eq(msb_config_load(cfg, 0, NULL, NULL), MSB_OK);
    bool b = false;
    cr_assert_eq(msb_config_get_bool(cfg, "b", &b, NULL), MSB_OK);
    cr_assert(b);
    msb_config_free(cfg);
}

Test(config_schema, bad_arguments)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_t *cfg = fresh();
    static const msb_config_key_t t[] = {{.name = "a", .type = MSB_CONFIG_INT}};
    cr_assert_eq(msb_config_add_keys(cfg, t, 1, 8, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: key_size 8 is too small; pass MSB_CONFIG_KEYS(table)");
    cr_assert_eq(msb_config_add_keys(cfg, NULL, 1, sizeof(t[0]), &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: keys is NULL");
    cr_assert_eq(msb_config_add_keys(NULL, t, 1, sizeof(t[0]), &err), MSB_EINVAL);
    cr_assert_eq(msb_config_add_keys(cfg, NULL, 0, sizeof(t[0]), &err), MSB_OK);
    cr_assert_eq(msb_config_load(cfg, 0, NULL, &err), MSB_OK);
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(t), &err), MSB_EBUSY);
    cr_assert_str_eq(err.message, "config: keys must be added before msb_config_load");
    cr_assert_eq(msb_config_load(cfg, 0, NULL, &err), MSB_EBUSY);
    cr_assert_str_eq(err.message, "config: already loaded; use msb_config_reload");
    cr_assert_eq(msb_config_load(NULL, 0, NULL, &err), MSB_EINVAL);
    msb_config_free(cfg);
    msb_config_free(NULL);
    cr_assert_eq(msb_config_action(NULL), MSB_CONFIG_ACTION_RUN);
    size_t n = 9;
    cr_assert_null(msb_config_args(NULL, &n)[0]);
    cr_assert_eq(n, 0);
}

Test(config_schema, options_are_checked)
{
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.profiles = "dev|Prod";
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: profiles \"dev|Prod\": each name is 1 to 32 of "
                                  "[a-z0-9_-], separated by |");
    cr_assert_null(cfg);
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.profiles = "dev||prod";
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_EINVAL);
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.secret_max = 0;
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: file_max and secret_max must be 1 byte to 1 GiB");
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.unknown_env = (msb_config_unknown_t)7;
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: unknown_env 7 is not a msb_config_unknown_t");
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.size = 4;
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: opts->size is too small; use MSB_CONFIG_OPTS_INIT");
    /* an older, shorter struct: the fields past its size keep their defaults */
    o = (msb_config_opts_t)MSB_CONFIG_OPTS_INIT;
    o.size = offsetof(msb_config_opts_t, envp);
    o.secret_max = 0;
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(cfg->secret_max, (size_t)64 << 10);
    msb_config_free(cfg);
}

static const msb_config_key_t typed[] = {
    {.name = "s", .type = MSB_CONFIG_STRING, .default_value = "text"},
    {.name = "i", .type = MSB_CONFIG_INT, .default_value = "-3"},
    {.name = "d", .type = MSB_CONFIG_DOUBLE, .default_value = "0.5"},
    {.name = "b", .type = MSB_CONFIG_BOOL, .default_value = "on"},
    {.name = "t", .type = MSB_CONFIG_DURATION, .default_value = "1m30s"},
    {.name = "z", .type = MSB_CONFIG_SIZE, .default_value = "2KiB"},
    {.name = "l", .type = MSB_CONFIG_LIST, .default_value = "a,b"},
    {.name = "http.listen", .type = MSB_CONFIG_STRING},
};

Test(config_schema, getters_read_defaults)
{
    msb_config_t *cfg;
    cr_assert_eq(ct_load(NULL, typed, MSB_ARRAY_LEN(typed), NULL, NULL, &cfg, NULL), MSB_OK);
    const char *s;
    int64_t i;
    double d;
    bool b;
    int64_t t;
    uint64_t z;
    msb_config_list_t l;
    cr_assert_eq(msb_config_get_string(cfg, "s", &s, NULL), MSB_OK);
    cr_assert_str_eq(s, "text");
    cr_assert_eq(msb_config_get_int(cfg, "i", &i, NULL), MSB_OK);
    cr_assert_eq(i, -3);
    cr_assert_eq(msb_config_get_double(cfg, "d", &d, NULL), MSB_OK);
    cr_assert_float_eq(d, 0.5, 1e-12);
    cr_assert_eq(msb_config_get_bool(cfg, "b", &b, NULL), MSB_OK);
    cr_assert(b);
    cr_assert_eq(msb_config_get_duration(cfg, "t", &t, NULL), MSB_OK);
    cr_assert_eq(t, 90 * MSB_SEC);
    cr_assert_eq(msb_config_get_size(cfg, "z", &z, NULL), MSB_OK);
    cr_assert_eq(z, 2048);
    cr_assert_eq(msb_config_get_list(cfg, "l", &l, NULL), MSB_OK);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[1], "b");
    msb_config_layer_t layer = MSB_CONFIG_LAYER_ARGS;
    char src[32];
    cr_assert_eq(msb_config_get_source(cfg, "s", &layer, src, sizeof(src), NULL), MSB_OK);
    cr_assert_eq(layer, MSB_CONFIG_LAYER_DEFAULT);
    cr_assert_str_eq(src, "default");
    cr_assert_eq(msb_config_get_source(cfg, "http.listen", &layer, src, sizeof(src), NULL), MSB_OK);
    cr_assert_eq(layer, MSB_CONFIG_LAYER_NONE);
    cr_assert_str_eq(src, "unset");
    cr_assert_eq(msb_config_get_source(cfg, "s", NULL, NULL, 0, NULL), MSB_OK);
    msb_config_free(cfg);
}

Test(config_schema, getter_errors)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_t *cfg = fresh();
    const char *s = "untouched";
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(typed), NULL), MSB_OK);
    cr_assert_eq(msb_config_get_string(cfg, "s", &s, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: not loaded; call msb_config_load first");
    cr_assert_eq(msb_config_load(cfg, 0, NULL, NULL), MSB_OK);
    cr_assert_eq(msb_config_get_string(cfg, "http.listn", &s, &err), MSB_ENOTFOUND);
    cr_assert_str_eq(err.message,
                     "config: no key \"http.listn\" is declared; did you mean \"http.listen\"?");
    cr_assert_eq(msb_config_get_string(cfg, "nothing.like.it", &s, &err), MSB_ENOTFOUND);
    cr_assert_str_eq(err.message, "config: no key \"nothing.like.it\" is declared");
    cr_assert_eq(msb_config_get_int(cfg, "s", &(int64_t){0}, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message,
                     "config: s has type string, not int: read it with msb_config_get_string");
    cr_assert_eq(msb_config_get_size(cfg, "t", &(uint64_t){0}, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message,
                     "config: t has type duration, not size: read it with msb_config_get_duration");
    cr_assert_eq(msb_config_get_string(cfg, "http.listen", &s, &err), MSB_ENOTFOUND);
    cr_assert_str_eq(err.message, "config: http.listen is not set and has no default");
    cr_assert_str_eq(s, "untouched");
    cr_assert_eq(msb_config_get_string(NULL, "s", &s, &err), MSB_EINVAL);
    cr_assert_eq(msb_config_get_string(cfg, NULL, &s, &err), MSB_EINVAL);
    cr_assert_eq(msb_config_get_source(cfg, "zz", NULL, NULL, 0, &err), MSB_ENOTFOUND);
    msb_config_free(cfg);
}

Test(config_schema, suggestions)
{
    msb_config_t *cfg = fresh();
    static const msb_config_key_t t[] = {{.name = "http.listen", .type = MSB_CONFIG_STRING},
                                         {.name = "db.password", .type = MSB_CONFIG_STRING},
                                         {.name = "log.level", .type = MSB_CONFIG_STRING}};
    cr_assert_eq(msb_config_add_keys(cfg, MSB_CONFIG_KEYS(t), NULL), MSB_OK);
    char out[64];
    cr_assert(msb__config_suggest(cfg, "http.lsiten", 11, out, sizeof(out))); /* swap */
    cr_assert_str_eq(out, "http.listen");
    cr_assert(msb__config_suggest(cfg, "db.pasword_file", 15, out, sizeof(out)));
    cr_assert_str_eq(out, "db.password_file");
    cr_assert(msb__config_suggest(cfg, "level", 5, out, sizeof(out))); /* right name, no section */
    cr_assert_str_eq(out, "log.level");
    cr_assert(msb__config_suggest(cfg, "server.listen", 13, out, sizeof(out)));
    cr_assert_str_eq(out, "http.listen");
    cr_assert_not(msb__config_suggest(cfg, "completely.different", 20, out, sizeof(out)));
    cr_assert_eq(msb__config_distance("abc", 3, "abc", 3), 0);
    cr_assert_eq(msb__config_distance("abc", 3, "acb", 3), 1);
    cr_assert_eq(msb__config_distance("", 0, "abc", 3), 3);
    cr_assert(msb__config_suggest_word("dev|staging|prod", "stagin", 6, out, sizeof(out)));
    cr_assert_str_eq(out, "staging");
    cr_assert_not(msb__config_suggest_word("dev|staging|prod", "zzzzzz", 6, out, sizeof(out)));
    msb_config_free(cfg);
}
