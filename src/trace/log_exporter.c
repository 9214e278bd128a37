/* The fallback exporter: one JSON line per span, written to a file descriptor. */
#include <errno.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "trace/internal.h"

typedef struct log_exporter {
    msb_span_exporter_t base;
    int fd;
    msb__buf_t buf;
} log_exporter_t;

static msb_status_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return MSB_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return MSB_OK;
}

static msb_status_t log_export(msb_span_exporter_t *e, msb_span_t *const *spans, size_t n,
                               uint64_t deadline, msb_error_t *err)
{
    MSB_UNUSED(deadline);
    log_exporter_t *l = (log_exporter_t *)e;
    msb_status_t rc = MSB_OK;
    for (size_t i = 0; i < n; i++) {
        msb__buf_reset(&l->buf);
        msb__otlp_json_line(&l->buf, spans[i]);
        if (msb__buf_status(&l->buf) != MSB_OK) {
            rc = msb__err_nomem(err, "a span line");
            continue;
        }
        /* One write per line, so lines from several processes never interleave mid-line. */
        if (write_all(l->fd, l->buf.data, l->buf.len) != MSB_OK) {
            rc = msb__err(err, MSB_EIO, "trace: writing spans to fd %d failed", l->fd);
        }
    }
    return rc;
}

static void log_destroy(msb_span_exporter_t *e)
{
    log_exporter_t *l = (log_exporter_t *)e;
    msb__buf_free(&l->buf);
    msb__free(l);
}

msb_status_t msb_trace_log_exporter_new(int fd, msb_span_exporter_t **out)
{
    if (fd < 0 || out == NULL) {
        return MSB_EINVAL;
    }
    log_exporter_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return MSB_ENOMEM;
    }
    l->base.export_spans = log_export;
    l->base.destroy = log_destroy;
    atomic_init(&l->base.cancel_at, UINT64_MAX);
    l->fd = fd;
    msb__buf_init(&l->buf, 0);
    *out = &l->base;
    return MSB_OK;
}
