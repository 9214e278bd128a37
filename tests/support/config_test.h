/*
 * Helpers for the config tests: a scratch directory with files, and a one-call load with an
 * explicit command line and environment (never the process's), so tests do not depend on the
 * environment ctest runs them in.
 */
#ifndef MSB_TEST_CONFIG_TEST_H
#define MSB_TEST_CONFIG_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msb/config.h"

#define CT_MAX_FILES 16

typedef struct ct_dir {
    char path[64];
    char *files[CT_MAX_FILES];
    int nfiles;
} ct_dir_t;

static inline void ct_dir_init(ct_dir_t *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->path, sizeof(d->path), "/tmp/msb-config-test.XXXXXX");
    if (mkdtemp(d->path) == NULL) {
        abort();
    }
}

/* Write name (relative to the directory) with n bytes of content; returns its full path. */
static inline const char *ct_write_n(ct_dir_t *d, const char *name, const char *content, size_t n)
{
    if (d->nfiles >= CT_MAX_FILES) {
        abort();
    }
    size_t len = strlen(d->path) + strlen(name) + 2;
    char *p = malloc(len);
    snprintf(p, len, "%s/%s", d->path, name);
    FILE *f = fopen(p, "wb");
    if (f == NULL || fwrite(content, 1, n, f) != n || fclose(f) != 0) {
        abort();
    }
    d->files[d->nfiles++] = p;
    return p;
}

static inline const char *ct_write(ct_dir_t *d, const char *name, const char *content)
{
    return ct_write_n(d, name, content, strlen(content));
}

static inline void ct_dir_free(ct_dir_t *d)
{
    for (int i = 0; i < d->nfiles; i++) {
        unlink(d->files[i]);
        free(d->files[i]);
    }
    rmdir(d->path);
}

/* Create a configuration with keys, load it with argv (NULL-terminated, argv[0] included) and
 * env (NULL-terminated); returns the status and leaves *out (NULL on failure). */
static inline msb_status_t ct_load(msb_config_opts_t *o, const msb_config_key_t *keys, size_t count,
                                   const char *const *argv, char *const *env, msb_config_t **out,
                                   msb_error_t *err)
{
    static char *const no_env[] = {NULL};
    msb_config_opts_t def = MSB_CONFIG_OPTS_INIT;
    if (o == NULL) {
        o = &def;
    }
    o->envp = env != NULL ? env : no_env;
    msb_config_t *cfg = NULL;
    *out = NULL;
    msb_status_t rc = msb_config_new(o, &cfg, err);
    if (rc == MSB_OK && count > 0) {
        rc = msb_config_add_keys(cfg, keys, count, sizeof(keys[0]), err);
    }
    int argc = 0;
    while (argv != NULL && argv[argc] != NULL) {
        argc++;
    }
    if (rc == MSB_OK) {
        rc = msb_config_load(cfg, argc, argv, err);
    }
    if (rc != MSB_OK) {
        msb_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return MSB_OK;
}

/* Everything msb_config_print() writes, as a malloc'ed string. */
static inline char *ct_print(const msb_config_t *cfg, unsigned flags)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL || msb_config_print(cfg, f, flags, NULL) != MSB_OK) {
        abort();
    }
    fclose(f);
    return text;
}

#endif
