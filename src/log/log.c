/* Loggers: options, constructors, children, the level, counters and the default logger. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/str.h"
#include "core/utf8.h"
#include "log/log_impl.h"

#define QUEUE_MIN ((size_t)4 << 10)
#define QUEUE_MAX ((size_t)1 << 30)

extern char *program_invocation_short_name;

/* ---- levels --------------------------------------------------------------------------------- */

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

const char *msb_log_level_name(msb_log_level_t level)
{
    return (unsigned)level < MSB_LOG_OFF ? level_names[level] : "?";
}

msb_status_t msb_log_level_parse(const char *s, msb_log_level_t *out)
{
    if (s == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    for (int l = MSB_LOG_TRACE; l <= MSB_LOG_OFF; l++) {
        if (msb__ascii_ieq(s, strlen(s), level_names[l])) {
            *out = (msb_log_level_t)l;
            return MSB_OK;
        }
    }
    if (msb__ascii_ieq(s, strlen(s), "warning")) {
        *out = MSB_LOG_WARN;
        return MSB_OK;
    }
    return MSB_EINVAL;
}

/* ---- the built-in default logger: static, synchronous, stderr -------------------------------- */

static msb__log_core_t builtin_core = {
    .level = MSB_LOG_INFO,
    .refs = 1,
    .builtin = true,
    .sink_mu = PTHREAD_MUTEX_INITIALIZER,
    .kind = MSB_LOG_SINK_STDERR,
    .fd = 2,
    .mu = PTHREAD_MUTEX_INITIALIZER,
};
static char builtin_frag[320];
static struct msb_log builtin_log = {.core = &builtin_core, .frag = builtin_frag};
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static _Atomic(msb_log_t *) default_log;

/* `,"service":"name"` into a fixed buffer; the name is cut to fit. */
static void builtin_init(void)
{
    const char *name = program_invocation_short_name != NULL ? program_invocation_short_name : "";
    size_t n = strlen(name);
    n = n > 40 ? 40 : n; /* escaped: at most 6 bytes each, within builtin_frag */
    msb__buf_t b = {builtin_frag, 0, sizeof(builtin_frag), sizeof(builtin_frag) - 1, 0};
    msb__buf_append(&b, ",\"service\":", 11);
    msb__buf_put_json_str(&b, name, n);
    builtin_log.frag_len = b.len;
    builtin_log.svc_len = b.len;
    builtin_core.clock = msb_clock_real();
}

msb_log_t *msb__log_builtin(void)
{
    pthread_once(&builtin_once, builtin_init);
    return &builtin_log;
}

msb_log_t *msb_log_default(void)
{
    msb_log_t *lg = atomic_load_explicit(&default_log, memory_order_acquire);
    return lg != NULL ? lg : msb__log_builtin();
}

void msb_log_set_default(msb_log_t *lg)
{
    atomic_store_explicit(&default_log, lg == &builtin_log ? NULL : lg, memory_order_release);
}

/* ---- options -------------------------------------------------------------------------------- */

#define TAKE(o, opts, f)                                                                           \
    do {                                                                                           \
        if (MSB_OPT_HAS(opts, f)) {                                                                \
            (o)->f = (opts)->f;                                                                    \
        }                                                                                          \
    } while (0)

static msb_status_t read_opts(const msb_log_opts_t *opts, msb_log_opts_t *o, msb_error_t *err)
{
    *o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    if (opts == NULL) {
        return MSB_OK;
    }
    if (opts->size < sizeof(opts->size)) {
        return msb__err(err, MSB_EINVAL,
                        "log: opts.size is %zu: initialise the options with MSB_LOG_OPTS_INIT",
                        opts->size);
    }
    TAKE(o, opts, level);
    TAKE(o, opts, service);
    TAKE(o, opts, sink);
    TAKE(o, opts, path);
    TAKE(o, opts, file_mode);
    TAKE(o, opts, callback);
    TAKE(o, opts, callback_user);
    TAKE(o, opts, synchronous);
    TAKE(o, opts, queue_size);
    TAKE(o, opts, buffer_size);
    TAKE(o, opts, flush_interval_ms);
    TAKE(o, opts, overflow);
    TAKE(o, opts, block_timeout_ms);
    TAKE(o, opts, sample_first);
    TAKE(o, opts, sample_thereafter);
    TAKE(o, opts, sample_tick_ms);
    TAKE(o, opts, clock); // NOLINT(bugprone-sizeof-expression): the pointer field's own size
    return MSB_OK;
}

static msb_status_t check_sink(const msb_log_opts_t *o, msb_error_t *err)
{
    switch (o->sink) {
    case MSB_LOG_SINK_STDERR:
        return MSB_OK;
    case MSB_LOG_SINK_FILE:
        if (o->path == NULL || o->path[0] == '\0') {
            return msb__err(err, MSB_EINVAL, "log: opts.path is empty: the file sink needs one");
        }
        if (o->file_mode > 07777) {
            return msb__err(err, MSB_EINVAL, "log: opts.file_mode %#o is not a permission mode",
                            o->file_mode);
        }
        return MSB_OK;
    case MSB_LOG_SINK_CALLBACK:
        if (o->callback == NULL) {
            return msb__err(err, MSB_EINVAL,
                            "log: opts.callback is NULL: the callback sink needs one");
        }
        return MSB_OK;
    default:
        return msb__err(err, MSB_EINVAL, "log: opts.sink %d is not a sink kind", (int)o->sink);
    }
}

static msb_status_t check_queue(const msb_log_opts_t *o, msb_error_t *err)
{
    if (o->queue_size < QUEUE_MIN || o->queue_size > QUEUE_MAX) {
        return msb__err(err, MSB_EINVAL, "log: opts.queue_size %zu is not in [%zu, %zu] bytes",
                        o->queue_size, QUEUE_MIN, QUEUE_MAX);
    }
    if (o->buffer_size == 0 || o->buffer_size > o->queue_size / 2) {
        return msb__err(err, MSB_EINVAL,
                        "log: opts.buffer_size %zu is not in [1, queue_size/2 = %zu] bytes",
                        o->buffer_size, o->queue_size / 2);
    }
    if (o->flush_interval_ms == 0) {
        return msb__err(err, MSB_EINVAL, "log: opts.flush_interval_ms is 0: it must be positive");
    }
    if (o->overflow != MSB_LOG_OVERFLOW_DROP && o->overflow != MSB_LOG_OVERFLOW_BLOCK) {
        return msb__err(err, MSB_EINVAL, "log: opts.overflow %d is not an overflow policy",
                        (int)o->overflow);
    }
    return MSB_OK;
}

static msb_status_t check_opts(const msb_log_opts_t *o, msb_error_t *err)
{
    if ((unsigned)o->level > MSB_LOG_OFF) {
        return msb__err(err, MSB_EINVAL, "log: opts.level %d is not a level", (int)o->level);
    }
    msb_status_t st = check_sink(o, err);
    if (st != MSB_OK) {
        return st;
    }
    if (!o->synchronous && (st = check_queue(o, err)) != MSB_OK) {
        return st;
    }
    if (o->sample_first > 0 && o->sample_tick_ms == 0) {
        return msb__err(err, MSB_EINVAL, "log: opts.sample_tick_ms is 0 while sampling is on");
    }
    return MSB_OK;
}

/* ---- the shared core ------------------------------------------------------------------------ */

static void core_destroy(msb__log_core_t *c)
{
    msb__log_queue_stop(c);
    msb__log_sink_close(c);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->sink_mu);
    msb__free(c->ring);
    msb__free(c->sampler);
    msb__free(c->path);
    msb__free(c);
}

static msb_status_t core_alloc(const msb_log_opts_t *o, msb__log_core_t **out, msb_error_t *err)
{
    msb__log_core_t *c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        msb__err_nomem(err, "the logger");
        return MSB_ENOMEM;
    }
    atomic_init(&c->level, (int)o->level);
    atomic_init(&c->refs, 1);
    c->async = !o->synchronous;
    c->clock = o->clock != NULL ? o->clock : msb_clock_real();
    c->kind = o->sink;
    c->fd = -1;
    c->file_mode = o->file_mode;
    c->callback = o->callback;
    c->callback_user = o->callback_user;
    c->cap = o->queue_size;
    c->threshold = o->buffer_size;
    c->interval_ns = (int64_t)o->flush_interval_ms * MSB_MSEC;
    c->overflow = o->overflow;
    c->block_ns = (int64_t)o->block_timeout_ms * MSB_MSEC;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->sink_mu, NULL);
    *out = c;
    if (o->sink == MSB_LOG_SINK_FILE && (c->path = msb__strdup(o->path)) == NULL) {
        return msb__err_nomem(err, "the log file's path");
    }
    if (c->async && (c->ring = msb__malloc(c->cap)) == NULL) {
        return msb__err_nomem(err, "the log queue");
    }
    if (o->sample_first > 0) {
        c->sampler = msb__calloc(1, sizeof(*c->sampler));
        if (c->sampler == NULL) {
            return msb__err_nomem(err, "the log sampler");
        }
        c->sampler->first = o->sample_first;
        c->sampler->thereafter = o->sample_thereafter;
        c->sampler->tick_ns = (uint64_t)o->sample_tick_ms * (uint64_t)MSB_MSEC;
    }
    return msb__log_sink_open(c, err);
}

/* `,"service":"…"`: the fragment every record of the family starts its fields with. */
static msb_status_t root_frag(msb_log_t *lg, const char *service, msb_error_t *err)
{
    if (service == NULL) {
        service = program_invocation_short_name != NULL ? program_invocation_short_name : "";
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_append(&b, ",\"service\":", 11);
    msb__buf_put_json_str(&b, service, strlen(service));
    if (msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return msb__err_nomem(err, "the log service name");
    }
    lg->frag = msb__buf_steal(&b, &lg->frag_len);
    lg->svc_len = lg->frag_len;
    return MSB_OK;
}

msb_status_t msb_log_new(const msb_log_opts_t *opts, msb_log_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "log: out is NULL");
    }
    msb_log_opts_t o;
    msb_status_t st = read_opts(opts, &o, err);
    if (st != MSB_OK || (st = check_opts(&o, err)) != MSB_OK) {
        return st;
    }
    msb__log_core_t *c = NULL;
    msb_log_t *lg = msb__calloc(1, sizeof(*lg));
    if (lg == NULL) {
        return msb__err_nomem(err, "the logger");
    }
    if ((st = root_frag(lg, o.service, err)) != MSB_OK ||
        (st = core_alloc(&o, &c, err)) != MSB_OK) {
        goto fail;
    }
    if (c->async && (st = msb__log_queue_start(c, err)) != MSB_OK) {
        goto fail;
    }
    lg->core = c;
    *out = lg;
    return MSB_OK;
fail:
    if (c != NULL) {
        core_destroy(c);
    }
    msb__free(lg->frag);
    msb__free(lg);
    return st;
}

static void logger_release(msb_log_t *lg)
{
    msb__free(lg->frag);
    msb__free(lg->bound);
    msb__free(lg->keys);
    msb__free(lg);
}

void msb_log_free(msb_log_t *lg)
{
    if (lg == NULL || lg == &builtin_log) {
        return;
    }
    msb_log_t *expected = lg;
    atomic_compare_exchange_strong(&default_log, &expected, NULL);
    msb__log_core_t *c = lg->core;
    logger_release(lg);
    if (c->builtin) {
        return;
    }
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        core_destroy(c);
    } else if (c->async) {
        msb__log_queue_flush(c, -1);
    }
}

/* ---- level, flush, reopen, counters --------------------------------------------------------- */

msb_status_t msb_log_set_level(msb_log_t *lg, msb_log_level_t level)
{
    if ((unsigned)level > MSB_LOG_OFF) {
        return MSB_EINVAL;
    }
    lg = lg != NULL ? lg : msb_log_default();
    atomic_store_explicit(&lg->core->level, (int)level, memory_order_relaxed);
    return MSB_OK;
}

msb_log_level_t msb_log_get_level(const msb_log_t *lg)
{
    lg = lg != NULL ? lg : msb_log_default();
    return (msb_log_level_t)atomic_load_explicit(&lg->core->level, memory_order_relaxed);
}

msb_status_t msb_log_flush(msb_log_t *lg, int64_t timeout_ms)
{
    lg = lg != NULL ? lg : msb_log_default();
    return lg->core->async ? msb__log_queue_flush(lg->core, timeout_ms) : MSB_OK;
}

msb_status_t msb_log_reopen(msb_log_t *lg, msb_error_t *err)
{
    lg = lg != NULL ? lg : msb_log_default();
    return msb__log_sink_reopen(lg->core, err);
}

msb_status_t msb_log_stats(const msb_log_t *lg, msb_log_stats_t *out)
{
    if (out == NULL || out->size < sizeof(out->size)) {
        return MSB_EINVAL;
    }
    lg = lg != NULL ? lg : msb_log_default();
    msb__log_core_t *c = lg->core;
    msb_log_stats_t s = {.size = sizeof(s)};
    pthread_mutex_t *mu = c->async ? &c->mu : &c->sink_mu;
    pthread_mutex_lock(mu);
    s.queued = c->queued;
    s.written = c->written;
    s.dropped = c->dropped;
    s.write_failed = c->write_failed;
    s.queue_bytes = c->pending;
    pthread_mutex_unlock(mu);
    s.sampled = atomic_load_explicit(&c->sampled, memory_order_relaxed);
    s.format_failed = atomic_load_explicit(&c->format_failed, memory_order_relaxed);
    s.bad_fields = atomic_load_explicit(&c->bad_fields, memory_order_relaxed);
    size_t n = out->size < sizeof(s) ? out->size : sizeof(s);
    memcpy((char *)out + sizeof(out->size), (char *)&s + sizeof(s.size), n - sizeof(s.size));
    return MSB_OK;
}
