/* Reading the configuration file and *_file secrets: whole, bounded, never a directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"
#include "core/alloc.h"

static msb_status_t os_error(int e, const char *path, char *why)
{
    char text[128];
    const char *msg = strerror_r(e, text, sizeof(text));
    snprintf(why, CFG_WHY_MAX, "cannot read %s: %s", path, msg);
    return e == ENOENT || e == ENOTDIR ? MSB_ENOTFOUND : MSB_EIO;
}

msb_status_t msb__config_read_file(const char *path, size_t max, char **out, size_t *len, char *why)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return os_error(errno, path, why);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return os_error(e, path, why);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        snprintf(why, CFG_WHY_MAX, "cannot read %s: it is a directory", path);
        return MSB_EIO;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        snprintf(why, CFG_WHY_MAX, "%s is larger than %zu bytes", path, max);
        return MSB_ETOOBIG;
    }
    /* Read up to max + 1 bytes: files that report no size (pipes, /proc) are bounded too. */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    if (cap > max + 1) {
        cap = max + 1;
    }
    char *buf = msb__malloc(cap + 1);
    size_t n = 0;
    msb_status_t rc = buf != NULL ? MSB_OK : MSB_ENOMEM;
    while (rc == MSB_OK) {
        if (n == cap) {
            if (cap > max) {
                snprintf(why, CFG_WHY_MAX, "%s is larger than %zu bytes", path, max);
                rc = MSB_ETOOBIG;
                break;
            }
            size_t grown = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *p = msb__realloc(buf, grown + 1);
            if (p == NULL) {
                rc = MSB_ENOMEM;
                break;
            }
            buf = p;
            cap = grown;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = os_error(errno, path, why);
        } else if (r == 0) {
            break;
        } else {
            n += (size_t)r;
        }
    }
    close(fd);
    if (rc != MSB_OK) {
        if (rc == MSB_ENOMEM) {
            snprintf(why, CFG_WHY_MAX, "out of memory reading %s", path);
        }
        msb__free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MSB_OK;
}

char *msb__config_path_join(const char *dir, const char *path, size_t n)
{
    if (dir == NULL || (n > 0 && path[0] == '/')) {
        return msb__strndup(path, n);
    }
    size_t dl = strlen(dir);
    if (n > SIZE_MAX - dl - 2) {
        return NULL;
    }
    char *p = msb__malloc(dl + n + 2);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, path, n);
    p[dl + 1 + n] = '\0';
    return p;
}

char *msb__config_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return msb__strdup(".");
    }
    if (slash == path) {
        return msb__strdup("/");
    }
    return msb__strndup(path, (size_t)(slash - path));
}
