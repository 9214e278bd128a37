/* Driver lookup for the shared library: dlopen the backend's plugin on first use. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver_impl.h"
#include "core/str.h"
#include "msb/version.h"

#define MSB_STR_(x)   #x
#define MSB_STR(x)    MSB_STR_(x)
#define PLUGIN_SUFFIX ".so." MSB_STR(MSB_VERSION_MAJOR)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct loaded {
    char name[16];
    void *handle;
} loaded_t;

static loaded_t plugins[8];

/* Directory holding this libmsb.so, so plugins are found beside it in the build tree and after
 * installation, wherever the prefix. */
static bool self_dir(char *dir, size_t size)
{
    Dl_info info;
    if (dladdr((void *)msb__driver_get, &info) == 0 || info.dli_fname == NULL) {
        return false;
    }
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash == NULL) {
        return false;
    }
    size_t n = (size_t)(slash - info.dli_fname);
    if (n + 1 > size) {
        return false;
    }
    memcpy(dir, info.dli_fname, n);
    dir[n] = '\0';
    return true;
}

static void *try_open(const char *dir, const char *backend, char *why, size_t why_size)
{
    char path[4096];
    int n;
    if (dir != NULL) {
        n = snprintf(path, sizeof(path), "%s/libmsb-%s" PLUGIN_SUFFIX, dir, backend);
    } else {
        n = snprintf(path, sizeof(path), "libmsb-%s" PLUGIN_SUFFIX, backend);
    }
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return NULL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL && why[0] == '\0') {
        const char *e = dlerror();
        msb__strlcpy(why, e != NULL ? e : path, why_size);
    }
    return h;
}

static void *open_plugin(const char *backend, msb_error_t *err)
{
    for (size_t i = 0; i < MSB_ARRAY_LEN(plugins); i++) {
        if (plugins[i].handle != NULL && strcmp(plugins[i].name, backend) == 0) {
            return plugins[i].handle;
        }
    }
    char why[512] = "";
    char dir[4096];
    void *h = NULL;
    const char *env = secure_getenv("MSB_PLUGIN_DIR");
    if (env != NULL && env[0] != '\0') {
        h = try_open(env, backend, why, sizeof(why));
    }
    if (h == NULL && self_dir(dir, sizeof(dir))) {
        h = try_open(dir, backend, why, sizeof(why));
    }
    if (h == NULL) {
        h = try_open(NULL, backend, why, sizeof(why));
    }
    if (h == NULL) {
        msb__err(err, MSB_EUNAVAIL,
                 "cannot load the %s backend (libmsb-%s" PLUGIN_SUFFIX "): %s; install it beside "
                 "libmsb or set MSB_PLUGIN_DIR",
                 backend, backend, why);
        return NULL;
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(plugins); i++) {
        if (plugins[i].handle == NULL) {
            msb__strlcpy(plugins[i].name, backend, sizeof(plugins[i].name));
            plugins[i].handle = h;
            break;
        }
    }
    return h;
}

msb_status_t msb__driver_get(const char *family, const char *backend, const void **out,
                             msb_error_t *err)
{
    msb_status_t rc = msb__backend_check(backend, err);
    if (rc != MSB_OK) {
        return rc;
    }
    char sym[128];
    int n = snprintf(sym, sizeof(sym), "msb__%s_%s_driver", family, backend);
    if (n < 0 || (size_t)n >= sizeof(sym)) {
        return msb__err(err, MSB_EINVAL, "driver name too long: %s/%s", family, backend);
    }
    pthread_mutex_lock(&lock);
    void *h = open_plugin(backend, err);
    void *fn = h != NULL ? dlsym(h, sym) : NULL;
    pthread_mutex_unlock(&lock);
    if (h == NULL) {
        return MSB_EUNAVAIL;
    }
    if (fn == NULL) {
        return msb__err(err, MSB_ENOTSUP, "the %s backend has no %s driver (%s not found)", backend,
                        family, sym);
    }
    const void *(*get)(void) = (const void *(*)(void))fn;
    *out = get();
    return MSB_OK;
}
