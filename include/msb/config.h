/**
 * @file config.h
 * @brief Layered configuration: built-in defaults < JSON file (+ profile overlay) < environment <
 * command line, validated against a schema the program and the modules declare.
 *
 * Keys are lower-case segments joined by dots (`http.listen`, `db.read_replica.dsn`). The same key
 * is written `--http.listen=…` on the command line, `MSB_HTTP__LISTEN` in the environment and
 * `{"http": {"listen": …}}` (or `{"http.listen": …}`) in the file. `db.password_file` in any layer
 * reads `db.password` from a file (Kubernetes secret volumes). docs/configuration.md is the full
 * reference of the syntax and of every key libmsb defines.
 *
 * @code
 * static const msb_config_key_t keys[] = {
 *     {.name = "http.listen", .type = MSB_CONFIG_STRING, .default_value = "127.0.0.1:8080",
 *      .description = "Address the HTTP server listens on."},
 *     {.name = "http.timeout", .type = MSB_CONFIG_DURATION, .default_value = "5s",
 *      .min = "1ms", .max = "10m", .flags = MSB_CONFIG_RELOADABLE,
 *      .description = "Deadline of one request."},
 * };
 * msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
 * o.file = "config/app.json";
 * msb_config_t *cfg;
 * msb_error_t err;
 * if (msb_config_new(&o, &cfg, &err) != MSB_OK ||
 *     msb_config_add_keys(cfg, MSB_CONFIG_KEYS(keys), &err) != MSB_OK ||
 *     msb_config_load(cfg, argc, argv, &err) != MSB_OK) { fprintf(stderr, "%s\n", err.message); }
 * if (msb_config_action(cfg) == MSB_CONFIG_ACTION_PRINT_CONFIG) {
 *     msb_config_print(cfg, stdout, 0, NULL);
 * }
 * int64_t timeout_ns;
 * msb_config_get_duration(cfg, "http.timeout", &timeout_ns, NULL);
 * @endcode
 *
 * Thread-safety of a loaded configuration: getters, msb_config_print() and
 * msb_config_get_source() are safe from any thread, also while msb_config_reload() runs on
 * another; every reader sees either the old or the new configuration as a whole. Strings and lists
 * returned by the getters stay valid until msb_config_free(), across reloads.
 */
#ifndef MSB_CONFIG_H
#define MSB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A configuration: schema, loaded values and their sources. Opaque. @since 0.1 */
typedef struct msb_config msb_config_t;

/** @brief Type of a key; it decides the syntax its values accept. @since 0.1 */
typedef enum msb_config_type {
    MSB_CONFIG_STRING = 1,   /**< any text; optionally one of `choices` */
    MSB_CONFIG_INT = 2,      /**< signed 64-bit decimal integer: `42`, `-7` */
    MSB_CONFIG_DOUBLE = 3,   /**< finite number: `0.25`, `1e-3` */
    MSB_CONFIG_BOOL = 4,     /**< `true/false`, `yes/no`, `on/off`, `1/0` (any case) */
    MSB_CONFIG_DURATION = 5, /**< `250ms`, `2s`, `1m30s`, `1.5h`, `7d`; read in nanoseconds */
    MSB_CONFIG_SIZE = 6,     /**< bytes: `512`, `64KiB` (1024), `1MB` (1000), `1.5GiB` */
    MSB_CONFIG_LIST = 7      /**< strings: a JSON array, or `a,b,c` (`\,` and `\\` escape) */
} msb_config_type_t;

/** Flag: the value is never printed (msb_config_print() shows `<redacted>`) nor echoed in
 * errors. */
#define MSB_CONFIG_SECRET 0x1u
/** Flag: msb_config_reload() may change the value while the program runs. */
#define MSB_CONFIG_RELOADABLE 0x2u
/** Flag: loading fails when no layer sets the key and it has no default. */
#define MSB_CONFIG_REQUIRED 0x4u

/**
 * @brief One key of a schema. Modules declare theirs in one `static const` array.
 *
 * Write entries with designated initializers (fields left out are 0/NULL). `default_value`,
 * `min` and `max` are written in the key's own syntax (`"5s"`, `"1MiB"`, `"65535"`) and checked
 * when the table is added. The strings are borrowed: the table must stay
 * valid until msb_config_free() (a static table does). Fields may be appended in later versions;
 * msb_config_add_keys() takes the element size, so old tables keep working.
 * @since 0.1
 */
typedef struct msb_config_key {
    const char *name;          /**< `[a-z0-9]+(_[a-z0-9]+)*` segments joined by dots */
    msb_config_type_t type;    /**< value type */
    unsigned flags;            /**< #MSB_CONFIG_SECRET, #MSB_CONFIG_RELOADABLE, … */
    const char *default_value; /**< default in the type's syntax; NULL: none */
    const char *description;   /**< one sentence, shown by `--help` */
    const char *min;           /**< lower bound (INT, DOUBLE, DURATION, SIZE); NULL: none */
    const char *max;           /**< upper bound, inclusive; NULL: none */
    const char *choices;       /**< STRING only: allowed values, `"debug|info|warn"`; NULL: any */
} msb_config_key_t;

/** Expands to the three table arguments of msb_config_add_keys(): `keys, count, element size`. */
#define MSB_CONFIG_KEYS(table) (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0])

/** @brief Where a value came from. @since 0.1 */
typedef enum msb_config_layer {
    MSB_CONFIG_LAYER_NONE = 0,    /**< not set and no default */
    MSB_CONFIG_LAYER_DEFAULT = 1, /**< the schema's default */
    MSB_CONFIG_LAYER_FILE = 2,    /**< the JSON file or its profile overlay */
    MSB_CONFIG_LAYER_ENV = 3,     /**< an environment variable */
    MSB_CONFIG_LAYER_ARGS = 4     /**< the command line */
} msb_config_layer_t;

/** @brief What to do with environment variables that carry the prefix but name no key. @since
 * 0.1 */
typedef enum msb_config_unknown {
    MSB_CONFIG_UNKNOWN_ERROR = 0, /**< loading fails, naming the variable (default) */
    MSB_CONFIG_UNKNOWN_WARN = 1, /**< the `warn` callback of the options is told; loading goes on */
    MSB_CONFIG_UNKNOWN_IGNORE = 2 /**< silently ignored */
} msb_config_unknown_t;

/** @brief Options of msb_config_new(). Initialise with #MSB_CONFIG_OPTS_INIT. @since 0.1 */
typedef struct msb_config_opts {
    size_t size;            /**< sizeof(msb_config_opts_t), set by #MSB_CONFIG_OPTS_INIT */
    const char *file;       /**< default file path; `--config`/`MSB_CONFIG` override; NULL: none */
    bool file_required;     /**< fail when the default file does not exist (default false) */
    const char *profile;    /**< profile when neither `--profile` nor `MSB_PROFILE` is given */
    const char *profiles;   /**< allowed profile names, `|`-separated ("dev|staging|prod") */
    const char *env_prefix; /**< prefix of environment variables ("MSB_"); "" disables them */
    char *const *envp;      /**< NULL-terminated `NAME=value` array; NULL: the process's */
    msb_config_unknown_t unknown_env;              /**< unknown `MSB_…` variables */
    void (*warn)(void *user, const char *message); /**< warnings (unknown_env = WARN) */
    void *warn_user;                               /**< passed to `warn` */
    size_t file_max;   /**< largest configuration file in bytes (4 MiB) */
    size_t secret_max; /**< largest file read by a `*_file` key in bytes (64 KiB) */
} msb_config_opts_t;

/** Defaults of #msb_config_opts_t. */
#define MSB_CONFIG_OPTS_INIT                                                                       \
    {                                                                                              \
        sizeof(msb_config_opts_t), NULL, false, NULL, "dev|staging|prod", "MSB_", NULL,            \
            MSB_CONFIG_UNKNOWN_ERROR, NULL, NULL, (size_t)4 << 20, (size_t)64 << 10                \
    }

/** @brief What the command line asked the program to do, beside running. @since 0.1 */
typedef enum msb_config_action {
    MSB_CONFIG_ACTION_RUN = 0,          /**< run normally */
    MSB_CONFIG_ACTION_PRINT_CONFIG = 1, /**< `--print-config`: print the configuration, exit 0 */
    MSB_CONFIG_ACTION_HELP = 2          /**< `--help`/`-h`: call msb_config_print_help(), exit 0 */
} msb_config_action_t;

/** @brief A list value: `count` NUL-terminated strings. @since 0.1 */
typedef struct msb_config_list {
    const char *const *items; /**< the strings, in order */
    size_t count;             /**< number of items; 0 for an empty list */
} msb_config_list_t;

/** @brief How a key changed in msb_config_reload(). @since 0.1 */
typedef enum msb_config_change {
    MSB_CONFIG_CHANGE_APPLIED = 0,      /**< a reloadable key changed; the new value is in effect */
    MSB_CONFIG_CHANGE_NEEDS_RESTART = 1 /**< a key that is not reloadable changed: ignored */
} msb_config_change_t;

/** @brief Called once per changed key by msb_config_reload() and for watches. @since 0.1 */
typedef void (*msb_config_change_cb)(void *user, const char *key, msb_config_change_t change);

/** Flag of msb_config_print(): JSON instead of `key = value  # source` lines. */
#define MSB_CONFIG_PRINT_JSON 0x1u

/**
 * @brief Create an empty configuration whose schema holds only the built-in keys `config` and
 * `profile`.
 * @param opts options, or NULL for the defaults; copied.
 * @param out receives the configuration.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (an option is invalid, named in err) or #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_config_free(). `opts->envp` is borrowed until then.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_new(const msb_config_opts_t *opts, msb_config_t **out,
                                    msb_error_t *err);

/**
 * @brief Free a configuration. NULL does nothing.
 * Ownership: every string and list obtained from it becomes invalid.
 * Thread-safety: no other thread may use `cfg` during or after the call.
 * @since 0.1
 */
MSB_API void msb_config_free(msb_config_t *cfg);

/**
 * @brief Add keys to the schema. Call before msb_config_load(); pass #MSB_CONFIG_KEYS(table).
 * @param cfg the configuration.
 * @param keys the table.
 * @param count number of entries.
 * @param key_size `sizeof(keys[0])` as the caller compiled it.
 * @param err optional error detail.
 * @return #MSB_OK; #MSB_EINVAL for a bad name, type, default, bound or choice list;
 * #MSB_EEXIST for a key declared twice or one that is also a section of another (`http` and
 * `http.listen`); #MSB_EBUSY after msb_config_load(); #MSB_ENOMEM. On failure no key is added.
 * Ownership: the table and its strings are borrowed until msb_config_free().
 * Thread-safety: one thread at a time per configuration.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_add_keys(msb_config_t *cfg, const msb_config_key_t *keys,
                                         size_t count, size_t key_size, msb_error_t *err);

/**
 * @brief Read every layer and validate it: the command line, the environment, the file named by
 * `--config`/`MSB_CONFIG`/`opts.file` and its profile overlay, and the `*_file` secrets.
 *
 * The command line accepts `--key=value`, `--key value` (not for booleans, where `--key` alone
 * means true), `--config`, `--profile`, `--print-config`, `--help`/`-h`, and `--` to end options;
 * other arguments are kept (msb_config_args()). With `--help` nothing else is read or validated.
 * @param cfg the configuration.
 * @param argc number of arguments in argv (argv[0], the program name, is skipped).
 * @param argv the arguments; may be NULL when argc is 0. Copied.
 * @param err optional error detail: the key, the layer and place it came from, what was expected.
 * @return #MSB_OK; #MSB_EINVAL (syntax, unknown key, wrong type), #MSB_ERANGE (out of bounds),
 * #MSB_ENOTFOUND (a named file is missing), #MSB_ETOOBIG (a file is too large), #MSB_EIO,
 * #MSB_EBUSY (already loaded), #MSB_ENOMEM. On failure the configuration has no values (loading
 * may be tried again).
 * Thread-safety: one thread at a time per configuration; no reader may run during the call.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_load(msb_config_t *cfg, int argc, const char *const *argv,
                                     msb_error_t *err);

/**
 * @brief What the command line asked for: run, print the configuration, or print help.
 * @return the action; #MSB_CONFIG_ACTION_RUN before a successful msb_config_load().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_config_action_t msb_config_action(const msb_config_t *cfg);

/**
 * @brief The arguments that were not options, in order (`--` ends options).
 * @param cfg the configuration.
 * @param count receives the number of arguments.
 * @return the arguments (never NULL). Ownership: borrowed until msb_config_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *const *msb_config_args(const msb_config_t *cfg, size_t *count);

/**
 * @brief Read a #MSB_CONFIG_STRING key.
 * @param cfg a loaded configuration.
 * @param key the key's name.
 * @param out receives the value; borrowed until msb_config_free() (reloads keep it valid).
 * @param err optional error detail.
 * @return #MSB_OK; #MSB_ENOTFOUND when the key is not declared or has no value;
 * #MSB_EINVAL when the key has another type or the configuration is not loaded.
 * Thread-safety: safe from any thread, also during msb_config_reload().
 * @since 0.1
 */
MSB_API msb_status_t msb_config_get_string(const msb_config_t *cfg, const char *key,
                                           const char **out, msb_error_t *err);

/** @brief Read a #MSB_CONFIG_INT key. Errors and thread-safety as msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key. @param out receives the value.
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_int(const msb_config_t *cfg, const char *key, int64_t *out,
                                        msb_error_t *err);

/** @brief Read a #MSB_CONFIG_DOUBLE key. Errors and thread-safety as msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key. @param out receives the value.
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_double(const msb_config_t *cfg, const char *key, double *out,
                                           msb_error_t *err);

/** @brief Read a #MSB_CONFIG_BOOL key. Errors and thread-safety as msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key. @param out receives the value.
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_bool(const msb_config_t *cfg, const char *key, bool *out,
                                         msb_error_t *err);

/** @brief Read a #MSB_CONFIG_DURATION key in nanoseconds (divide by #MSB_MSEC for ms).
 * Errors and thread-safety as msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key. @param out_ns receives the value.
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_duration(const msb_config_t *cfg, const char *key,
                                             int64_t *out_ns, msb_error_t *err);

/** @brief Read a #MSB_CONFIG_SIZE key in bytes. Errors and thread-safety as
 * msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key. @param out receives the value.
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_size(const msb_config_t *cfg, const char *key, uint64_t *out,
                                         msb_error_t *err);

/** @brief Read a #MSB_CONFIG_LIST key. Errors and thread-safety as msb_config_get_string().
 * @param cfg a loaded configuration. @param key the key.
 * @param out receives the list; its strings are borrowed until msb_config_free().
 * @param err optional error detail. @return #MSB_OK or an error status. @since 0.1 */
MSB_API msb_status_t msb_config_get_list(const msb_config_t *cfg, const char *key,
                                         msb_config_list_t *out, msb_error_t *err);

/**
 * @brief Where a key's value came from: its layer and a description of the place
 * (`"/etc/app.json:12"`, `"MSB_HTTP__LISTEN"`, `"--http.listen"`, `"default"`; a `*_file`
 * secret adds `" (file /run/secrets/pw)"`).
 * @param cfg a loaded configuration.
 * @param key the key.
 * @param layer receives the layer; may be NULL.
 * @param buf receives the description, truncated to `size` (NUL included); may be NULL if size
 * is 0.
 * @param size size of buf.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_ENOTFOUND (key not declared) or #MSB_EINVAL (not loaded).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_get_source(const msb_config_t *cfg, const char *key,
                                           msb_config_layer_t *layer, char *buf, size_t size,
                                           msb_error_t *err);

/**
 * @brief Print the effective configuration, one key per line in name order with the source of
 * each value (`http.listen = "0.0.0.0:8080"  # /etc/app.json:3`), secrets as `<redacted>`.
 * @param cfg a loaded configuration.
 * @param out the stream.
 * @param flags 0 or #MSB_CONFIG_PRINT_JSON (one JSON object, key → {value, layer, source}).
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (not loaded), #MSB_EIO (write failed) or #MSB_ENOMEM.
 * Thread-safety: safe from any thread; the stream is the caller's to lock.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_print(const msb_config_t *cfg, FILE *out, unsigned flags,
                                      msb_error_t *err);

/**
 * @brief Print usage: every key with its option, environment variable, type, default,
 * description and flags. Works whether or not msb_config_load() succeeded.
 * @param cfg the configuration.
 * @param out the stream.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EIO or #MSB_ENOMEM.
 * Thread-safety: safe from any thread once keys are no longer being added.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_print_help(const msb_config_t *cfg, FILE *out, msb_error_t *err);

/**
 * @brief Re-read the file layers, the environment and the `*_file` secrets (the command line,
 * the file path and the profile stay as loaded), then apply the changes.
 *
 * If the new configuration is invalid, nothing changes and the error is returned. Otherwise
 * each changed reloadable key takes its new value and each changed key that is not reloadable
 * keeps its old value. Then `cb` is called once per changed key (in name order) and the watches
 * of msb_config_watch() once per applied change, on the calling thread.
 * @param cfg a loaded configuration.
 * @param cb optional change report.
 * @param user passed to cb.
 * @param err optional error detail.
 * @return #MSB_OK (also when some changes need a restart) or the errors of msb_config_load();
 * #MSB_EBUSY when called from a change callback.
 * Thread-safety: safe from any thread; concurrent reloads run one after the other; readers
 * never wait for the files to be read, only for a pointer swap.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_reload(msb_config_t *cfg, msb_config_change_cb cb, void *user,
                                       msb_error_t *err);

/**
 * @brief Be told by every msb_config_reload() that applies a change to a key that starts with
 * `prefix` (a key like `"log.level"`, a section like `"http."`, or `""` for all).
 * @param cfg the configuration.
 * @param prefix the prefix; copied.
 * @param cb the callback; called on the reloading thread after the new values are in effect.
 * It may read the configuration but must not reload, watch or unwatch (#MSB_EBUSY).
 * @param user passed to cb.
 * @param id receives an id for msb_config_unwatch(); may be NULL.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL (NULL cb or prefix), #MSB_EBUSY (inside a callback), #MSB_ENOMEM.
 * If the call fails, cb is never called.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_watch(msb_config_t *cfg, const char *prefix,
                                      msb_config_change_cb cb, void *user, uint64_t *id,
                                      msb_error_t *err);

/**
 * @brief Remove a watch. Once it returns, the callback is not running and will not be called.
 * @param cfg the configuration.
 * @param id the id from msb_config_watch().
 * @return #MSB_OK, #MSB_ENOTFOUND (no such watch) or #MSB_EBUSY (inside a callback).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_unwatch(msb_config_t *cfg, uint64_t id);

/**
 * @brief Parse a duration (`250ms`, `1m30s`, `1.5h`, `0`) as configuration values are parsed.
 * @param text the NUL-terminated text; surrounding blanks are ignored.
 * @param out_ns receives nanoseconds.
 * @param err optional error detail saying what was expected.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ERANGE (longer than about 292 years).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_parse_duration(const char *text, int64_t *out_ns, msb_error_t *err);

/**
 * @brief Parse a byte size (`512`, `64KiB`, `1MB`, `1.5GiB`) as configuration values are parsed.
 * @param text the NUL-terminated text; surrounding blanks are ignored.
 * @param out receives bytes.
 * @param err optional error detail.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ERANGE (above 2^64 - 1).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_config_parse_size(const char *text, uint64_t *out, msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_CONFIG_H */
