/*
 * The logger's internals, shared by the files of src/log/.
 *
 * A family of loggers (a root made by msb_log_new() and its children) shares one core: the
 * level, the sink, the queue and its writer thread, the sampler and the counters. Each logger
 * adds its pre-encoded fragment: `,"service":"…"` followed by its bound fields.
 *
 *   record.c   msb_log_write(): level check, sampling, context hook, duplicate keys, encoding
 *   encode.c   the JSON encoder of one record (timestamp, numbers, strings)
 *   dtoa.c     doubles in their shortest form (Grisu2)
 *   queue.c    the bounded byte queue (a bip buffer) and the writer thread
 *   sink.c     stderr, file (reopen) and callback sinks
 *   child.c    child loggers and their bound fields
 *   log.c      options, constructors, level, stats, the default logger
 */
#ifndef MSB_LOG_LOG_IMPL_H
#define MSB_LOG_LOG_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/buf.h"
#include "core/common.h"
#include "msb/log.h"

/* Records up to this size are formatted on the caller's stack; larger ones on the heap. */
#define MSB__LOG_STACK_BUF 2048
/* Slots of the sampler's table, keyed by a hash of (level, message); a power of two. */
#define MSB__LOG_SAMPLER_SLOTS 2048

typedef struct msb__log_sample_slot {
    _Atomic uint64_t reset_at; /* monotonic ns at which the count restarts */
    _Atomic uint64_t count;    /* records of this key in the current tick */
} msb__log_sample_slot_t;

typedef struct msb__log_sampler {
    uint64_t tick_ns;
    uint64_t first;
    uint64_t thereafter;
    msb__log_sample_slot_t slots[MSB__LOG_SAMPLER_SLOTS];
} msb__log_sampler_t;

typedef struct msb__log_core {
    /* Fields are grouped by size (no padding holes); comments say which lock guards them. */
    const msb_clock_t *clock;
    msb__log_sampler_t *sampler; /* NULL: no sampling */
    _Atomic size_t refs;         /* loggers of the family still alive */

    /* sink: sink_mu serialises writes with reopen's descriptor swap */
    pthread_mutex_t sink_mu;
    char *path;
    msb_log_sink_fn callback;
    void *callback_user;

    /* queue: a bip buffer [a_start, a_end) then [0, b_end) when b_on; everything under mu */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the writer waits here */
    pthread_cond_t room; /* blocked producers and flushers wait here */
    pthread_t writer;
    char *ring;
    size_t cap;
    size_t a_start;
    size_t a_end;
    size_t b_end;
    size_t pending;     /* bytes queued and not yet taken by the writer */
    uint64_t in_bytes;  /* bytes ever queued */
    uint64_t out_bytes; /* bytes ever handed to the sink */
    size_t threshold;   /* the writer writes once this many bytes wait */
    int64_t interval_ns;
    int64_t block_ns;

    /* counters: under mu (async) or sink_mu (synchronous) */
    uint64_t queued;
    uint64_t dropped;
    uint64_t written;
    uint64_t write_failed;
    /* counters kept outside any lock */
    _Atomic uint64_t sampled;
    _Atomic uint64_t format_failed;
    _Atomic uint64_t bad_fields;

    _Atomic int level; /* the threshold: the filter is one load */
    msb_log_sink_kind_t kind;
    int fd;
    unsigned file_mode;
    msb_log_overflow_t overflow;
    unsigned room_waiters;
    unsigned flush_waiters;
    bool builtin; /* the static default logger: never freed */
    bool async;   /* a writer thread and a queue; else writes under sink_mu */
    bool b_on;
    bool writer_idle;
    bool stop;
    bool writer_started;
} msb__log_core_t;

/* One bound field of a logger: its bytes in the fragment and its raw key, for overrides. */
typedef struct msb__log_bound {
    size_t off;      /* start of `,"key":value` in frag */
    size_t len;      /* its length */
    const char *key; /* the raw key (into keys) */
    size_t klen;
    uint32_t tag; /* msb__log_key_tag() */
} msb__log_bound_t;

struct msb_log {
    msb__log_core_t *core;
    char *frag;      /* `,"service":"…"` + bound fields */
    size_t frag_len; /* whole fragment */
    size_t svc_len;  /* the service part; bound fields follow */
    msb__log_bound_t *bound;
    size_t nbound;
    char *keys;     /* storage of the bound keys */
    uint64_t bloom; /* bit (tag % 64) of every bound key */
};

/* A field prepared for encoding: where it comes from and whether it is written. */
typedef struct msb__log_item {
    const msb_log_field_t *f;
    size_t klen;
    uint32_t tag;
    bool skip;
} msb__log_item_t;

/* Cheap prefilter of key equality: length, first and last byte. */
static inline uint32_t msb__log_key_tag(const char *key, size_t klen)
{
    return (uint32_t)(klen & 0xffff) | ((uint32_t)(unsigned char)key[0] << 16) |
           ((uint32_t)(unsigned char)key[klen - 1] << 24);
}

/* Append n bytes: one comparison and a memcpy when the room is there, else msb__buf_append(). */
static inline void msb__log_put(msb__buf_t *b, const void *p, size_t n)
{
    if (MSB_LIKELY(b->cap - b->len > n)) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    } else {
        msb__buf_append(b, p, n);
    }
}

/* Whether a key is one of the record's own (ts, level, msg, service). */
MSB_INTERNAL bool msb__log_key_reserved(const char *key, size_t klen);

/* encode.c: append `,"key":value` of one field; string lengths resolved here. */
MSB_INTERNAL void msb__log_put_field(msb__buf_t *b, const msb_log_field_t *f, size_t klen);
/* Append `{"ts":"…","level":"…","msg":…`. */
MSB_INTERNAL void msb__log_put_head(msb__buf_t *b, int64_t ts_ns, msb_log_level_t level,
                                    const char *msg, size_t msg_len);
/* RFC 3339 UTC with microseconds, 27 bytes, no NUL: 2026-11-24T08:00:00.123456Z. */
MSB_INTERNAL void msb__log_format_ts(char out[27], int64_t ns);
/* dtoa.c: a finite positive double, shortest digits (Grisu2), always with '.' or an exponent. */
MSB_INTERNAL size_t msb__log_dtoa(char *out, double a);
/* A double as a JSON number that round-trips (always with '.' or an exponent); out >= 40. */
MSB_INTERNAL size_t msb__log_format_double(char *out, double v);

/* queue.c */
MSB_INTERNAL msb_status_t msb__log_queue_start(msb__log_core_t *c, msb_error_t *err);
MSB_INTERNAL void msb__log_queue_push(msb__log_core_t *c, const char *rec, size_t len);
MSB_INTERNAL msb_status_t msb__log_queue_flush(msb__log_core_t *c, int64_t timeout_ms);
/* Write everything queued, stop and join the writer. */
MSB_INTERNAL void msb__log_queue_stop(msb__log_core_t *c);

/* sink.c */
MSB_INTERNAL msb_status_t msb__log_sink_open(msb__log_core_t *c, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__log_sink_reopen(msb__log_core_t *c, msb_error_t *err);
MSB_INTERNAL void msb__log_sink_close(msb__log_core_t *c);
/*
 * Hand whole records (each ending in '\n') to the sink; sink_mu must be held. Adds the records
 * taken and lost to *written and *failed.
 */
MSB_INTERNAL void msb__log_sink_write(msb__log_core_t *c, const char *p, size_t n,
                                      uint64_t *written, uint64_t *failed);
/* A synchronous logger's write of one record (takes sink_mu). */
MSB_INTERNAL void msb__log_sink_write_sync(msb__log_core_t *c, const char *rec, size_t len);

/* record.c: whether the sampler keeps a record. */
MSB_INTERNAL bool msb__log_sample(msb__log_core_t *c, msb_log_level_t level, const char *msg,
                                  size_t msg_len);

/* log.c: the built-in default logger. */
MSB_INTERNAL msb_log_t *msb__log_builtin(void);

#endif
