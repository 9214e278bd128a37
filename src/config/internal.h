/*
 * Internals of config.h, shared by the files of src/config/.
 *
 * Model: the schema (cfg->keys, sorted by name, immutable after msb_config_load) and one
 * immutable snapshot of values (cfg->snap). Loading and reloading build a complete new snapshot
 * off to the side (cfg_build_t: defaults, then each layer assigns over the previous), and only a
 * pointer swap under the write lock publishes it. String and list values live in blobs that are
 * never freed before msb_config_free(), so pointers handed to readers survive reloads; a reload
 * keeps only the blobs of values that actually changed.
 */
#ifndef MSB_CONFIG_INTERNAL_H
#define MSB_CONFIG_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/common.h"
#include "msb/config.h"

#define CFG_KEY_MAX      128    /* longest key name, in bytes */
#define CFG_WHY_MAX      192    /* reason texts of the parsers */
#define CFG_PUBLIC_FLAGS 0x7u   /* SECRET | RELOADABLE | REQUIRED */
#define CFG_META         0x100u /* built-in `config` and `profile`: never from a file */
#define CFG_PROFILE_MAX  32     /* longest profile name */

/* A heap block holding one string or list value. */
typedef struct cfg_blob {
    struct cfg_blob *next;
    union {
        max_align_t align;
        char bytes[1];
    } data[];
} cfg_blob_t;

/* One value: a key's slot in a snapshot (or its parsed default). */
typedef struct cfg_value {
    msb_config_layer_t layer; /* NONE: unset */
    size_t source;            /* offset of its description in snapshot->sources (FILE/ENV/ARGS) */
    cfg_blob_t *blob;         /* block owned by a snapshot being built; NULL once committed */
    union {
        int64_t i;  /* INT, DURATION */
        uint64_t u; /* SIZE */
        double d;
        bool b;
        const char *s;
        const msb_config_list_t *list;
    } v;
} cfg_value_t;

/* A declared key, copied from the caller's table (strings borrowed). */
typedef struct cfg_key {
    const char *name;
    size_t len;
    msb_config_type_t type;
    unsigned flags;
    const char *description;
    const char *default_text;
    const char *min_text;
    const char *max_text;
    const char *choices;
    bool has_min;
    bool has_max;
    cfg_value_t min; /* bounds, parsed like values */
    cfg_value_t max;
    cfg_value_t def;      /* parsed default: layer DEFAULT, or NONE */
    cfg_blob_t *def_blob; /* owns a STRING or LIST default */
} cfg_key_t;

typedef struct cfg_snapshot {
    cfg_value_t *values; /* one per key, in schema order */
    msb__buf_t sources;  /* NUL-separated source descriptions */
} cfg_snapshot_t;

/* An option of the command line, parsed by msb_config_load and replayed by every build. */
typedef struct cfg_cli {
    size_t key;
    bool file_ref;     /* written as KEY_file */
    const char *value; /* in cfg->argv, or "true" */
    const char *opt;   /* the option as written, "--http.read-timeout" */
    size_t opt_len;
} cfg_cli_t;

typedef struct cfg_watch {
    uint64_t id;
    char *prefix;
    size_t prefix_len;
    msb_config_change_cb cb;
    void *user;
} cfg_watch_t;

struct msb_config {
    /* options */
    char *file;
    bool file_required;
    char *profile_default;
    char *profiles;
    char *env_prefix;
    char *const *envp;
    msb_config_unknown_t unknown_env;
    void (*warn)(void *user, const char *message);
    void *warn_user;
    size_t file_max;
    size_t secret_max;
    /* schema, sorted by name */
    cfg_key_t *keys;
    size_t nkeys;
    size_t cap;
    uint32_t *index; /* open-addressing hash of the names (index + 1), built by load */
    size_t index_cap;
    /* the command line, as loaded */
    bool loaded;
    msb_config_action_t action;
    char **argv;
    int argc;
    const char **args;
    size_t nargs;
    cfg_cli_t *cli;
    size_t ncli;
    /* file and profile chosen at load; NULL: none */
    char *path;
    bool path_explicit;
    char path_from[CFG_KEY_MAX + 8]; /* "--config", "MSB_CONFIG" or "the options" */
    bool base_seen;                  /* the files existed at load: a reload requires them */
    bool overlay_seen;
    char *profile;
    /* values */
    pthread_rwlock_t lock; /* guards snap (readers) */
    cfg_snapshot_t *snap;
    pthread_mutex_t reload_lock; /* one build at a time; guards watches, retained */
    cfg_blob_t *retained;
    cfg_watch_t *watches;
    size_t nwatches;
    size_t wcap;
    uint64_t next_watch;
};

/* Where a raw value comes from. */
typedef struct cfg_origin {
    msb_config_layer_t layer;
    const char *name; /* file path, variable name or option as written */
    size_t len;
    unsigned line;        /* FILE: 1-based line of the member name; 0 unknown */
    const char *base_dir; /* relative *_file paths are resolved against it; NULL: the cwd */
} cfg_origin_t;

/* A value before it is typed: text (environment, command line, secret file) or JSON. */
typedef struct cfg_raw {
    const char *text; /* used when json is NULL */
    size_t len;
    const json_t *json;
} cfg_raw_t;

/* A snapshot being built. */
typedef struct cfg_build {
    msb_config_t *cfg;
    cfg_snapshot_t *snap;
    unsigned *stamp; /* per key: pass * 4 | 1 (set plainly) | 2 (set through KEY_file) */
    unsigned pass;
} cfg_build_t;

/* ---- schema (config.c, schema.c) ------------------------------------------------------------ */
/* Add a table; extra_flags are or-ed into every key (CFG_META for the built-ins). */
MSB_INTERNAL msb_status_t msb__config_add(msb_config_t *cfg, const msb_config_key_t *keys,
                                          size_t count, size_t key_size, unsigned extra_flags,
                                          msb_error_t *err);
/* Build the hash index of the names (the schema is final once msb_config_load starts). */
MSB_INTERNAL msb_status_t msb__config_index(msb_config_t *cfg);
/* Index of the key named s[0..n), or SIZE_MAX. */
MSB_INTERNAL size_t msb__config_find(const msb_config_t *cfg, const char *s, size_t n);
/* A key inside the section s[0..n) (s + "." + …), or SIZE_MAX when s is not a section. */
MSB_INTERNAL size_t msb__config_section_key(const msb_config_t *cfg, const char *s, size_t n);
/* Resolve s[0..n) as KEY or KEY_file; false when neither is declared. */
MSB_INTERNAL bool msb__config_resolve(const msb_config_t *cfg, const char *s, size_t n, size_t *key,
                                      bool *file_ref);
/* Whether s[0..n) follows the key grammar. */
MSB_INTERNAL bool msb__config_valid_name(const char *s, size_t n);
MSB_INTERNAL const char *msb__config_type_name(msb_config_type_t t);

/* ---- suggestions (suggest.c) ---------------------------------------------------------------- */
/* The declared key (or KEY_file) closest to s[0..n), copied to out; false when none is close. */
MSB_INTERNAL bool msb__config_suggest(const msb_config_t *cfg, const char *s, size_t n, char *out,
                                      size_t size);
/* The closest of the `|`-separated words to s[0..n); false when none is close. */
MSB_INTERNAL bool msb__config_suggest_word(const char *words, const char *s, size_t n, char *out,
                                           size_t size);
MSB_INTERNAL size_t msb__config_distance(const char *a, size_t an, const char *b, size_t bn);

/* ---- parsers and formatters (parse.c) --------------------------------------------------------
 * Each parses the whole of s[0..n) (surrounding blanks ignored) and on failure writes the
 * reason, quoting the input, to why[CFG_WHY_MAX]. */
MSB_INTERNAL msb_status_t msb__config_parse_duration(const char *s, size_t n, int64_t *out,
                                                     char *why);
MSB_INTERNAL msb_status_t msb__config_parse_size(const char *s, size_t n, uint64_t *out, char *why);
MSB_INTERNAL msb_status_t msb__config_parse_bool(const char *s, size_t n, bool *out, char *why);
MSB_INTERNAL msb_status_t msb__config_parse_int(const char *s, size_t n, int64_t *out, char *why);
MSB_INTERNAL msb_status_t msb__config_parse_double(const char *s, size_t n, double *out, char *why);
/* Canonical text that parses back to the same value ("1m30s", "64KiB"); returns its length. */
MSB_INTERNAL size_t msb__config_format_duration(int64_t ns, char *buf, size_t size);
MSB_INTERNAL size_t msb__config_format_size(uint64_t bytes, char *buf, size_t size);
/* s[0..n) as a quoted, escaped, possibly shortened string for messages. */
MSB_INTERNAL void msb__config_quote(const char *s, size_t n, char *out, size_t size);
MSB_INTERNAL void msb__config_trim(const char **s, size_t *n);

/* ---- typed values (value.c) ----------------------------------------------------------------- */
/* Type raw as key k's value into out (out->blob new on success); why as for the parsers. */
MSB_INTERNAL msb_status_t msb__config_coerce(const cfg_key_t *k, const cfg_raw_t *raw,
                                             cfg_value_t *out, char *why);
/* List from comma-separated text, with \, and \\ escapes. */
MSB_INTERNAL msb_status_t msb__config_parse_list(const char *s, size_t n, cfg_blob_t **out,
                                                 char *why);
MSB_INTERNAL bool msb__config_value_equal(msb_config_type_t t, const cfg_value_t *a,
                                          const cfg_value_t *b);
/* Append the value as text (JSON-style string quoting, bare numbers, lists as arrays). */
MSB_INTERNAL void msb__config_value_text(msb__buf_t *out, const cfg_key_t *k, const cfg_value_t *v);
MSB_INTERNAL void msb__config_blob_free_all(cfg_blob_t *b);
/* "a|b|c" as "a, b, c". */
MSB_INTERNAL void msb__config_words(const char *words, char *out, size_t size);

/* ---- building a snapshot (build.c) ---------------------------------------------------------- */
MSB_INTERNAL msb_status_t msb__config_build_begin(msb_config_t *cfg, cfg_build_t *b,
                                                  msb_error_t *err);
MSB_INTERNAL void msb__config_build_abort(cfg_build_t *b);
/* Start a new pass (a file, the environment, the command line). */
MSB_INTERNAL void msb__config_build_pass(cfg_build_t *b);
/* Assign the raw value to the key (KEY_file: raw is the path of the file holding it). */
MSB_INTERNAL msb_status_t msb__config_assign(cfg_build_t *b, size_t key, bool file_ref,
                                             const cfg_raw_t *raw, const cfg_origin_t *o,
                                             msb_error_t *err);
/* Put the key back to its default (JSON null). */
MSB_INTERNAL void msb__config_unset(cfg_build_t *b, size_t key);
/* Every layer: files, environment, command line; then the required keys. */
MSB_INTERNAL msb_status_t msb__config_build_all(cfg_build_t *b, msb_error_t *err);
MSB_INTERNAL void msb__config_snapshot_free(cfg_snapshot_t *s);
/* Move the blobs of b's snapshot to cfg->retained (once published). */
MSB_INTERNAL void msb__config_retain(msb_config_t *cfg, cfg_snapshot_t *s);
MSB_INTERNAL const char *msb__config_source(const cfg_snapshot_t *s, const cfg_value_t *v);

/* ---- layers --------------------------------------------------------------------------------- */
/* The JSON text of one file (json.c). path names it in sources and messages. */
MSB_INTERNAL msb_status_t msb__config_json_apply(cfg_build_t *b, const char *text, size_t len,
                                                 const char *path, msb_error_t *err);
/* Document positions (json_lines.c): the line of every member, by dotted path. */
typedef struct cfg_lines cfg_lines_t;
MSB_INTERNAL msb_status_t msb__config_lines_new(const char *text, size_t len, const char *path,
                                                cfg_lines_t **out, msb_error_t *err);
MSB_INTERNAL unsigned msb__config_lines_find(const cfg_lines_t *l, const char *path, size_t n);
MSB_INTERNAL void msb__config_lines_free(cfg_lines_t *l);
/* The environment (env.c). */
MSB_INTERNAL msb_status_t msb__config_env_apply(cfg_build_t *b, msb_error_t *err);
/* The value of PREFIX + upper-case name in the environment, or NULL. */
MSB_INTERNAL const char *msb__config_env_get(const msb_config_t *cfg, const char *name,
                                             const char **var, size_t *var_len);
/* Environment variable name of a key (PREFIX + upper-case, dots as __) into out. */
MSB_INTERNAL void msb__config_env_var(const char *prefix, const char *key, size_t n, char *out,
                                      size_t size);
MSB_INTERNAL void msb__config_env_name(const msb_config_t *cfg, const char *key, size_t n,
                                       char *out, size_t size);
/* The command line (args.c): fills cfg->cli, cfg->args and cfg->action. */
MSB_INTERNAL msb_status_t msb__config_args_parse(msb_config_t *cfg, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__config_args_apply(cfg_build_t *b, msb_error_t *err);

/* ---- files (file.c) ------------------------------------------------------------------------- */
/* Read a whole file of at most max bytes; *out is NUL-terminated, freed with msb__free.
 * On failure why holds "cannot read PATH: reason" or "PATH is larger than MAX bytes". */
MSB_INTERNAL msb_status_t msb__config_read_file(const char *path, size_t max, char **out,
                                                size_t *len, char *why);
/* dir + "/" + path, or a copy of path when it is absolute or dir is NULL. */
MSB_INTERNAL char *msb__config_path_join(const char *dir, const char *path, size_t n);
/* Directory part of path ("." when there is none); new string. */
MSB_INTERNAL char *msb__config_dirname(const char *path);

#endif
