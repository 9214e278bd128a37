/* Helpers shared by the metrics unit tests (header-only: each test file is one program). */
#ifndef MSB_TEST_METRICS_UTIL_H
#define MSB_TEST_METRICS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msb/metrics.h"
#include "msb/version.h"

/* Path of a data file next to the tests: $MSB_SOURCE_DIR/tests/unit/data/metrics/NAME, or the
 * same path relative to this source file (CMake compiles with absolute paths). */
static inline void metrics_data_path(const char *name, char *out, size_t size)
{
    const char *root = getenv("MSB_SOURCE_DIR");
    if (root != NULL && root[0] != '\0') {
        snprintf(out, size, "%s/tests/unit/data/metrics/%s", root, name);
        return;
    }
    char dir[2048];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    snprintf(out, size, "%s/data/metrics/%s", dir, name);
}

/* Whole file, NUL-terminated (caller frees), or NULL. */
static inline char *metrics_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096;
    size_t n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
    }
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

/* Replace every "@VERSION@" by msb_version() (goldens outlive version bumps). */
static inline char *metrics_expand_version(const char *text)
{
    const char *v = msb_version();
    size_t cap = strlen(text) * 2 + 64;
    char *out = malloc(cap);
    size_t n = 0;
    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, "@VERSION@", 9) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", v);
            p += 9;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

#endif
