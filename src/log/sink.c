/* The sinks: stderr, a file reopened on request, a callback. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "log/log_impl.h"

/* How long a write to a non-blocking descriptor that is full may wait for room, in total. */
#define WRITE_STALL_MS 1000

static int open_file(const msb__log_core_t *c)
{
    int fd;
    do {
        fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, (mode_t)c->file_mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

msb_status_t msb__log_sink_open(msb__log_core_t *c, msb_error_t *err)
{
    c->fd = -1;
    if (c->kind == MSB_LOG_SINK_STDERR) {
        c->fd = STDERR_FILENO;
    } else if (c->kind == MSB_LOG_SINK_FILE) {
        c->fd = open_file(c);
        if (c->fd < 0) {
            char msg[128];
            return msb__err(err, MSB_EIO, "log: cannot open %s: %s", c->path,
                            strerror_r(errno, msg, sizeof(msg)));
        }
    }
    return MSB_OK;
}

msb_status_t msb__log_sink_reopen(msb__log_core_t *c, msb_error_t *err)
{
    if (c->kind != MSB_LOG_SINK_FILE) {
        return MSB_OK;
    }
    int fd = open_file(c);
    if (fd < 0) {
        char msg[128];
        return msb__err(err, MSB_EIO, "log: cannot reopen %s: %s (still writing to the old file)",
                        c->path, strerror_r(errno, msg, sizeof(msg)));
    }
    pthread_mutex_lock(&c->sink_mu);
    int old = c->fd;
    c->fd = fd;
    pthread_mutex_unlock(&c->sink_mu);
    close(old);
    return MSB_OK;
}

void msb__log_sink_close(msb__log_core_t *c)
{
    if (c->kind == MSB_LOG_SINK_FILE && c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
}

/* Write all of p[0..n); returns how many bytes went out (n unless an error stopped it). */
static size_t write_all(int fd, const char *p, size_t n)
{
    size_t done = 0;
    int stalled_ms = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && stalled_ms < WRITE_STALL_MS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, 100);
            stalled_ms += 100;
            continue;
        }
        break;
    }
    return done;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            break;
        }
        lines++;
        p = nl + 1;
    }
    return lines;
}

void msb__log_sink_write(msb__log_core_t *c, const char *p, size_t n, uint64_t *written,
                         uint64_t *failed)
{
    if (c->kind == MSB_LOG_SINK_CALLBACK) {
        const char *end = p + n;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL) {
                break;
            }
            c->callback(p, (size_t)(nl - p), c->callback_user);
            (*written)++;
            p = nl + 1;
        }
        return;
    }
    size_t done = write_all(c->fd, p, n);
    uint64_t ok = count_lines(p, done);
    *written += ok;
    if (done < n) {
        *failed += count_lines(p, n) - ok;
    }
}

/*
 * A synchronous logger's callback sink runs under sink_mu; a record it logs into a logger whose
 * sink it is inside of would deadlock, so such a record is dropped. The chain lives on the stack.
 */
typedef struct sync_frame {
    const msb__log_core_t *core;
    struct sync_frame *next;
} sync_frame_t;

static _Thread_local sync_frame_t *sync_frames;

void msb__log_sink_write_sync(msb__log_core_t *c, const char *rec, size_t len)
{
    for (const sync_frame_t *f = sync_frames; f != NULL; f = f->next) {
        if (f->core == c) {
            c->dropped++; /* this thread holds sink_mu: it is inside the outer write */
            return;
        }
    }
    sync_frame_t frame = {c, sync_frames};
    uint64_t written = 0;
    uint64_t failed = 0;
    sync_frames = &frame;
    pthread_mutex_lock(&c->sink_mu);
    msb__log_sink_write(c, rec, len, &written, &failed);
    c->queued++;
    c->written += written;
    c->write_failed += failed;
    pthread_mutex_unlock(&c->sink_mu);
    sync_frames = frame.next;
}
