/**
 * @file log.h
 * @brief Structured logging: one JSON object per line, typed fields, child loggers, sampling,
 * a bounded queue in front of a slow sink.
 *
 * @code
 * msb_log_opts_t o = MSB_LOG_OPTS_INIT;
 * o.service = "orders";
 * o.sink = MSB_LOG_SINK_FILE;
 * o.path = "/var/log/orders.log";
 * msb_log_t *lg;
 * if (msb_log_new(&o, &lg, &err) != MSB_OK) { ... }
 * msb_log_write(lg, MSB_LOG_INFO, "order paid",
 *               MSB_LOG_FIELDS(MSB_LOG_STR("order_id", id), MSB_LOG_I64("cents", 1250)));
 * msb_log_free(lg); // flushes, stops the writer thread, closes the file
 * @endcode
 *
 * A record is `{"ts":"2026-11-24T08:00:00.123456Z","level":"info","msg":"order paid",
 * "service":"orders",...fields}` followed by `\n`. The guide `docs/logging.md` gives the full
 * format, the rules for duplicate keys, sampling, the queue and reopening for logrotate.
 *
 * Thread-safety: every function taking an #msb_log_t is safe from any thread, unless its comment
 * says otherwise; records from one thread reach the sink in the order they were logged.
 */
#ifndef MSB_LOG_H
#define MSB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A logger (opaque). Made by msb_log_new() or msb_log_child(). @since 0.1 */
typedef struct msb_log msb_log_t;

/**
 * @brief Severity of a record, and the threshold of a logger's level filter.
 * @since 0.1
 */
typedef enum msb_log_level {
    MSB_LOG_TRACE = 0, /**< "trace": step-by-step detail */
    MSB_LOG_DEBUG = 1, /**< "debug": diagnostic detail */
    MSB_LOG_INFO = 2,  /**< "info": normal operation (the default threshold) */
    MSB_LOG_WARN = 3,  /**< "warn": something unexpected that was handled */
    MSB_LOG_ERROR = 4, /**< "error": an operation failed */
    MSB_LOG_OFF = 5    /**< threshold only: nothing is written */
} msb_log_level_t;

/** @brief Type of a field's value. @since 0.1 */
typedef enum msb_log_type {
    MSB_LOG_STRING, /**< `v.s`: a string of `len` bytes (#MSB_LOG_NTS: NUL-terminated) */
    MSB_LOG_INT,    /**< `v.i`: a signed 64-bit integer */
    MSB_LOG_DOUBLE, /**< `v.d`: a double */
    MSB_LOG_BOOL    /**< `v.b`: a boolean */
} msb_log_type_t;

/**
 * @brief One typed key/value of a record.
 *
 * Keys are non-empty NUL-terminated strings; a field whose key is NULL or empty, or is one of
 * the record's own keys (`ts`, `level`, `msg`, `service`), is not written and is counted in
 * msb_log_stats_t::bad_fields. When several fields of a record share a key, the last one wins
 * (see docs/logging.md). Strings may hold any bytes: they are escaped per RFC 8259 and invalid
 * UTF-8 is replaced by U+FFFD. A string field whose `ptr` is NULL is written as `null`. A double
 * that is NaN or infinite is written as the string `"NaN"`, `"+Inf"` or `"-Inf"`.
 * @since 0.1
 */
typedef struct msb_log_field {
    const char *key;     /**< the field's name */
    msb_log_type_t type; /**< which member of `v` holds the value */
    /** The value. */
    union {
        /** A string: `len` bytes at `ptr`, or up to its NUL when `len` is #MSB_LOG_NTS. */
        struct {
            const char *ptr; /**< the bytes (may contain NULs when `len` is explicit) */
            size_t len;      /**< their number, or #MSB_LOG_NTS */
        } s;
        int64_t i; /**< an integer */
        double d;  /**< a double */
        bool b;    /**< a boolean */
    } v;
} msb_log_field_t;

/*
 * The field constructors below are C compound literals (C99 and later); C++ code fills
 * msb_log_field_t arrays directly.
 */

/** A string length meaning "up to the terminating NUL". */
#define MSB_LOG_NTS ((size_t)-1)

/** A string field from a NUL-terminated string. */
#define MSB_LOG_STR(k, str) ((msb_log_field_t){(k), MSB_LOG_STRING, {.s = {(str), MSB_LOG_NTS}}})
/** A string field of `n` bytes at `p` (may contain NULs). */
#define MSB_LOG_STRN(k, p, n) ((msb_log_field_t){(k), MSB_LOG_STRING, {.s = {(p), (n)}}})
/** An integer field. */
#define MSB_LOG_I64(k, x) ((msb_log_field_t){(k), MSB_LOG_INT, {.i = (int64_t)(x)}})
/** A double field. */
#define MSB_LOG_F64(k, x) ((msb_log_field_t){(k), MSB_LOG_DOUBLE, {.d = (double)(x)}})
/** A boolean field. */
#define MSB_LOG_BOOLEAN(k, x) ((msb_log_field_t){(k), MSB_LOG_BOOL, {.b = (x) ? true : false}})
/**
 * The two arguments `fields, n` of msb_log_write() or msb_log_child() from a list of fields:
 * `msb_log_write(lg, MSB_LOG_INFO, "m", MSB_LOG_FIELDS(MSB_LOG_I64("a", 1), MSB_LOG_STR("b", s)))`.
 * Each field expression is evaluated once.
 */
#define MSB_LOG_FIELDS(...)                                                                        \
    ((const msb_log_field_t[]){__VA_ARGS__}),                                                      \
        (sizeof((const msb_log_field_t[]){__VA_ARGS__}) / sizeof(msb_log_field_t))

/** At most this many fields of one msb_log_write() call are written; the rest are bad_fields. */
#define MSB_LOG_MAX_FIELDS 128
/** Size of the array a context hook may fill (its `max` argument). */
#define MSB_LOG_CONTEXT_MAX 16

/**
 * @brief Adds fields to every record: how other modules (tracing: `trace_id`, `span_id`)
 * correlate records without the logger knowing them.
 *
 * Called on the logging thread, inside msb_log_write(), for every record that passes the level
 * filter and sampling. Writes up to `max` fields into `out` and returns how many (a larger
 * return is taken as `max`). The strings must stay valid until the call returns to the logger,
 * which copies them. The hook must not block; it may log (such a nested record gets no context).
 * Its fields come after the logger's bound fields and before the call's own fields.
 * @since 0.1
 */
typedef size_t (*msb_log_context_fn)(msb_log_field_t *out, size_t max, void *user);

/**
 * @brief Install the process-wide context hook (NULL removes it).
 *
 * One hook for the whole process, used by every logger. Install it at start-up: a record being
 * written on another thread while the hook is replaced may still get the previous hook's fields.
 * @param fn the hook, or NULL.
 * @param user passed to every call of `fn`.
 * Ownership: `user` is borrowed and must stay valid while the hook is installed.
 * Thread-safety: safe from any thread (the pair is swapped atomically for readers).
 * @since 0.1
 */
MSB_API void msb_log_set_context_hook(msb_log_context_fn fn, void *user);

/** @brief Where a logger's records go. @since 0.1 */
typedef enum msb_log_sink_kind {
    MSB_LOG_SINK_STDERR = 0,  /**< file descriptor 2 */
    MSB_LOG_SINK_FILE = 1,    /**< the file `path`, appended to; msb_log_reopen() reopens it */
    MSB_LOG_SINK_CALLBACK = 2 /**< the function `callback`, once per record */
} msb_log_sink_kind_t;

/**
 * @brief A callback sink: receives one record, `len` bytes of JSON; `record[len]` is its `\n`.
 *
 * Called on the logger's writer thread (or the logging thread for a synchronous logger), one
 * record at a time, in order. The bytes are borrowed for the duration of the call. A slow
 * callback fills the queue; it never blocks a logging thread beyond the queue's bound.
 * @since 0.1
 */
typedef void (*msb_log_sink_fn)(const char *record, size_t len, void *user);

/** @brief What msb_log_write() does when the queue is full. @since 0.1 */
typedef enum msb_log_overflow {
    MSB_LOG_OVERFLOW_DROP = 0, /**< drop the record and count it (the default) */
    MSB_LOG_OVERFLOW_BLOCK = 1 /**< wait up to `block_timeout_ms` for room, then drop and count */
} msb_log_overflow_t;

/**
 * @brief Options of msb_log_new(). Initialise with #MSB_LOG_OPTS_INIT, then set fields.
 * @since 0.1
 */
typedef struct msb_log_opts {
    size_t size;                 /**< sizeof(msb_log_opts_t), set by #MSB_LOG_OPTS_INIT */
    msb_log_level_t level;       /**< threshold; default #MSB_LOG_INFO */
    const char *service;         /**< `service` of every record, copied; NULL: program name */
    msb_log_sink_kind_t sink;    /**< default #MSB_LOG_SINK_STDERR */
    const char *path;            /**< file sink: the file (created if absent), copied */
    unsigned file_mode;          /**< file sink: permissions when created; default 0644 */
    msb_log_sink_fn callback;    /**< callback sink: the function */
    void *callback_user;         /**< callback sink: its `user` argument, borrowed */
    bool synchronous;            /**< write on the logging thread, no queue; default false */
    size_t queue_size;           /**< queue capacity in bytes; default 1 MiB, at least 4 KiB */
    size_t buffer_size;          /**< write once this many bytes wait; default 64 KiB */
    uint32_t flush_interval_ms;  /**< write waiting bytes at least this often; default 100 */
    msb_log_overflow_t overflow; /**< full queue: default #MSB_LOG_OVERFLOW_DROP */
    uint32_t block_timeout_ms;   /**< #MSB_LOG_OVERFLOW_BLOCK: longest wait; default 100 */
    uint32_t sample_first;       /**< sampling: records kept per message per tick; 0: off */
    uint32_t sample_thereafter;  /**< sampling: then one in this many (0: none) */
    uint32_t sample_tick_ms;     /**< sampling: the period; default 1000 */
    const msb_clock_t *clock;    /**< time of records and sampling ticks; NULL: real clock */
} msb_log_opts_t;

/** Initialiser of #msb_log_opts_t with every default. */
#define MSB_LOG_OPTS_INIT                                                                          \
    {                                                                                              \
        .size = sizeof(msb_log_opts_t), .level = MSB_LOG_INFO, .sink = MSB_LOG_SINK_STDERR,        \
        .file_mode = 0644, .queue_size = (size_t)1 << 20, .buffer_size = (size_t)64 << 10,         \
        .flush_interval_ms = 100, .block_timeout_ms = 100, .sample_thereafter = 100,               \
        .sample_tick_ms = 1000                                                                     \
    }

/**
 * @brief Create a logger.
 *
 * An asynchronous logger (the default) starts one writer thread, with every signal blocked,
 * that takes records from a bounded queue and writes them to the sink in batches of
 * `buffer_size` bytes, or every `flush_interval_ms`, or on msb_log_flush().
 * @param opts options, or NULL for every default.
 * @param out receives the logger.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL for an invalid option (the message names it); #MSB_EIO when the
 * file cannot be opened or the writer thread cannot start; #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_log_free(). `opts` and its strings are copied, except
 * `callback_user` and `clock`, which must outlive the logger.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_new(const msb_log_opts_t *opts, msb_log_t **out, msb_error_t *err);

/**
 * @brief Create a child logger: the parent's sink, queue, level and statistics, plus `fields`
 * bound to every record it writes.
 *
 * A child's bound field overrides a parent's of the same key.
 * @param parent the parent, or NULL for msb_log_default().
 * @param fields the fields to bind (copied); keys must be non-empty and not `ts`, `level`,
 * `msg` or `service`.
 * @param n number of fields (at most #MSB_LOG_MAX_FIELDS).
 * @param out receives the child.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL for a bad key or type (the message names the field); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_log_free(). It keeps the shared part of the parent
 * alive, so parent and child may be freed in any order.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_child(msb_log_t *parent, const msb_log_field_t *fields, size_t n,
                                   msb_log_t **out, msb_error_t *err);

/**
 * @brief Free a logger: flush what it queued, and, when it is the last logger of its family
 * (parent and children), stop the writer thread and close the file. NULL is a no-op, and so is
 * the built-in default logger. If `lg` is installed as the default, the built-in one is restored.
 *
 * Waits until the sink has taken every queued record (a callback sink that never returns hangs
 * it). Ownership: `lg` is released. Thread-safety: no other thread may use `lg` any more, and
 * the family's own callback sink must not free its last logger.
 * @since 0.1
 */
MSB_API void msb_log_free(msb_log_t *lg);

/**
 * @brief Write one record.
 *
 * When `level` is below the logger's threshold the call returns after one atomic load. Otherwise
 * the record is sampled, formatted on the caller's stack (a heap buffer only for records over
 * 2 KiB) and copied into the queue. Never fails: what cannot be written is counted (see
 * msb_log_stats()).
 * @param lg the logger, or NULL for msb_log_default().
 * @param level the record's level (#MSB_LOG_TRACE..#MSB_LOG_ERROR; others are ignored).
 * @param msg the message, NUL-terminated (NULL: empty).
 * @param fields the record's fields, or NULL when `n` is 0 (see #MSB_LOG_FIELDS).
 * @param n number of fields.
 * Ownership: everything is borrowed for the call only.
 * Thread-safety: safe from any thread; not async-signal-safe.
 * @since 0.1
 */
MSB_API void msb_log_write(msb_log_t *lg, msb_log_level_t level, const char *msg,
                           const msb_log_field_t *fields, size_t n);

/**
 * @brief Whether a record of `level` would pass `lg`'s threshold (one atomic load); use it to
 * skip computing expensive fields.
 * @param lg the logger, or NULL for msb_log_default().
 * @param level the level to test.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API bool msb_log_enabled(const msb_log_t *lg, msb_log_level_t level);

/**
 * @brief Change the threshold at run time (shared by a logger's parent and children).
 * @param lg the logger, or NULL for msb_log_default().
 * @param level the new threshold, #MSB_LOG_TRACE..#MSB_LOG_OFF.
 * @return #MSB_OK, or #MSB_EINVAL for another value.
 * Thread-safety: safe from any thread (an atomic store; concurrent records see the old or the
 * new threshold).
 * @since 0.1
 */
MSB_API msb_status_t msb_log_set_level(msb_log_t *lg, msb_log_level_t level);

/**
 * @brief The current threshold.
 * @param lg the logger, or NULL for msb_log_default().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_log_level_t msb_log_get_level(const msb_log_t *lg);

/**
 * @brief Name of a level as written in records ("info"); "?" for other values.
 * @return static text, never NULL. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_log_level_name(msb_log_level_t level);

/**
 * @brief Parse a level name ("trace", "debug", "info", "warn" or "warning", "error", "off"),
 * ignoring ASCII case.
 * @param s the name, NUL-terminated.
 * @param out receives the level.
 * @return #MSB_OK, or #MSB_EINVAL for NULL or an unknown name (*out untouched).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_level_parse(const char *s, msb_log_level_t *out);

/**
 * @brief Wait until every record queued before the call has been handed to the sink.
 * @param lg the logger, or NULL for msb_log_default() (always flushed: it is synchronous).
 * @param timeout_ms the longest wait; negative waits as long as it takes.
 * @return #MSB_OK, or #MSB_ETIMEDOUT when the sink did not take them in time.
 * Thread-safety: safe from any thread; must not be called from a callback sink.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_flush(msb_log_t *lg, int64_t timeout_ms);

/**
 * @brief Reopen a file sink by its path (after logrotate renamed the file): records written from
 * now on go to the new file. Other sinks: nothing to do, #MSB_OK.
 *
 * Not async-signal-safe: a SIGHUP handler sets a flag and a normal thread calls this.
 * @param lg the logger (any of a family), or NULL for msb_log_default().
 * @param err optional detail on failure.
 * @return #MSB_OK, or #MSB_EIO when the file cannot be opened (the old one stays in use).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_reopen(msb_log_t *lg, msb_error_t *err);

/**
 * @brief Counters of a logger family, for metrics and tests. Fields are only appended.
 *
 * Once the queue is flushed, `written + write_failed == queued` and every record that passed the
 * level filter is in exactly one of `queued`, `dropped`, `sampled` and `format_failed`.
 * @since 0.1
 */
typedef struct msb_log_stats {
    size_t size;            /**< sizeof(msb_log_stats_t): set it before the call */
    uint64_t queued;        /**< records accepted (queued, or written by a synchronous logger) */
    uint64_t written;       /**< records the sink took */
    uint64_t dropped;       /**< records refused because the queue was full or too small */
    uint64_t sampled;       /**< records suppressed by sampling */
    uint64_t format_failed; /**< records lost because memory for a large record ran out */
    uint64_t write_failed;  /**< records lost to sink write errors */
    uint64_t bad_fields;    /**< fields not written: bad or reserved key, over the limit */
    uint64_t queue_bytes;   /**< bytes waiting in the queue now */
} msb_log_stats_t;

/**
 * @brief Read the counters of `lg`'s family.
 * @param lg the logger, or NULL for msb_log_default().
 * @param out receives the counters; set `out->size = sizeof(*out)` first.
 * @return #MSB_OK, or #MSB_EINVAL when `out` is NULL or its size too small.
 * Thread-safety: safe from any thread; the counters are read together under the queue's lock.
 * @since 0.1
 */
MSB_API msb_status_t msb_log_stats(const msb_log_t *lg, msb_log_stats_t *out);

/**
 * @brief The process default logger: msb_log_set_default()'s, else a built-in one that writes
 * synchronously to stderr at #MSB_LOG_INFO with the program's name as `service`.
 *
 * The built-in logger needs no set-up and no memory, starts no thread and loses nothing at exit
 * or crash; a program that logs in volume makes its own logger and installs it.
 * @return the default logger, never NULL. Ownership: borrowed.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_log_t *msb_log_default(void);

/**
 * @brief Install `lg` as the process default (NULL restores the built-in logger).
 * @param lg the logger; it must stay alive while it is the default (msb_log_free() of it
 * restores the built-in one).
 * Ownership: borrowed. Thread-safety: call while no other thread logs through the default
 * (at start-up or shutdown), since a thread may still hold the previous default.
 * @since 0.1
 */
MSB_API void msb_log_set_default(msb_log_t *lg);

MSB_END_DECLS

#endif /* MSB_LOG_H */
