/**
 * @file adaptive.h
 * @brief Adaptive concurrency limit (AIMD, latency gradient) and a CPU-aware load shedder.
 *
 * Both guard a server's handlers (or a client's calls) with the same cheap pair:
 * @code
 * if (msb_adaptive_limit_acquire(lim) != MSB_OK) {
 *     return reply_503();                          // over the limit: shed at once
 * }
 * uint64_t t0 = now();
 * rc = handle(req);
 * msb_adaptive_limit_release(lim, now() - t0,
 *                            rc == MSB_ETIMEDOUT ? MSB_ADAPTIVE_DROPPED : MSB_ADAPTIVE_SUCCESS);
 * @endcode
 *
 * **Concurrency limit** (#msb_adaptive_limit_t), after Netflix's concurrency-limits: the number
 * of calls in flight is capped by a limit that the limiter learns from latencies. Samples are
 * gathered lock-free in windows of `window_samples` calls (and at least `window_min_ns`); when a
 * window closes, one thread folds it into the limit (try-lock; the others never wait).
 * - AIMD: a window with a drop (a #MSB_ADAPTIVE_DROPPED call, or one slower than `timeout_ns`)
 *   multiplies the limit by `backoff_ratio`; otherwise the limit grows by one for every sample
 *   taken while at least half of it was in use.
 * - Gradient (Netflix Gradient2): with `short` the window's mean latency and `long` an
 *   exponential average over about `long_window` samples, gradient = clamp(`rtt_tolerance` ×
 *   long / short, 0.5, 1); each busy sample moves the limit to (1 − s)·limit + s·(limit ×
 *   gradient + `queue_size`) with s = `smoothing`. Queueing raises `short` over `long`, and the
 *   limit falls; an idle queue lets it grow by about s × queue_size a sample.
 *
 * **Load shedder** (#msb_adaptive_shedder_t), after go-zero's adaptive shedder (itself after
 * Kratos' BBR limiter): while the CPU use is above `cpu_threshold` (or for `cool_off_ns` after
 * the last time it was), a call is shed if both the calls in flight and their moving average
 * exceed maxFlight = maxPass × buckets-per-second × minRt (Little's law on the best throughput
 * and the best latency of the window), scaled down as the CPU nears 100 %. CPU use is that of
 * the process' cgroup against its limit: cgroup v2 `cpu.max` and `cpu.stat` (v1 `cpu.cfs_*` and
 * `cpuacct.usage` too), or, without a cgroup limit, the host's cores; without cgroup files,
 * `/proc/stat`. It is sampled every `cpu_interval_ns` by whichever call finds the sample stale
 * (a few file reads, no thread of its own), and smoothed (an exponential average, β = 0.95).
 *
 * Both are safe from any thread; acquire is one compare-and-swap, release a few atomic adds
 * (the shedder also reads its clock: give it msb_clock_coarse() or a per-tick clock).
 */
#ifndef MSB_ADAPTIVE_H
#define MSB_ADAPTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief How a guarded call ended. @since 0.1 */
typedef enum msb_adaptive_outcome {
    MSB_ADAPTIVE_SUCCESS = 0, /**< completed (an application error is still a completion) */
    MSB_ADAPTIVE_DROPPED = 1, /**< timed out or was refused downstream for overload */
    MSB_ADAPTIVE_IGNORED = 2  /**< cancelled early, or says nothing about load: no sample */
} msb_adaptive_outcome_t;

/* ---- adaptive concurrency limit ------------------------------------------------------------ */

/** @brief An adaptive concurrency limit (opaque). @since 0.1 */
typedef struct msb_adaptive_limit msb_adaptive_limit_t;

/** @brief The limit's algorithm. @since 0.1 */
typedef enum msb_adaptive_algorithm {
    MSB_ADAPTIVE_GRADIENT = 0, /**< latency gradient (Netflix Gradient2) */
    MSB_ADAPTIVE_AIMD = 1      /**< additive increase, multiplicative decrease on drops */
} msb_adaptive_algorithm_t;

/** @brief Limit options. Initialise with #MSB_ADAPTIVE_LIMIT_OPTS_INIT. @since 0.1 */
typedef struct msb_adaptive_limit_opts {
    size_t size;                        /**< sizeof(msb_adaptive_limit_opts_t) */
    msb_adaptive_algorithm_t algorithm; /**< default #MSB_ADAPTIVE_GRADIENT */
    uint32_t initial_limit;             /**< in [min_limit, max_limit]. Default 20 */
    uint32_t min_limit;                 /**< >= 1. Default 1 */
    uint32_t max_limit;                 /**< <= 1000000. Default 1000 */
    uint32_t window_samples;            /**< samples per update, 1..10000. Default 10 */
    const msb_clock_t *clock;           /**< for `window_min_ns`. NULL: msb_clock_real() */
    uint64_t window_min_ns;             /**< a window also lasts at least this long (read once
                                             every `window_samples` samples); 0 (default):
                                             windows close on samples alone, no clock read */
    double backoff_ratio;               /**< AIMD: decrease factor, in [0.5, 1). Default 0.9 */
    uint64_t timeout_ns;                /**< AIMD: slower calls count as drops; 0: none.
                                             Default 5 s */
    double rtt_tolerance;               /**< gradient: latency growth tolerated, in [1, 10].
                                             Default 1.5 */
    double smoothing;                   /**< gradient: in (0, 1]. Default 0.2 */
    uint32_t long_window;               /**< gradient: samples in the long average, >= 10.
                                             Default 600 */
    uint32_t queue_size;                /**< gradient: headroom added per update, 0..1000.
                                             Default 4 */
} msb_adaptive_limit_opts_t;

/** @brief Defaults of #msb_adaptive_limit_opts_t. @since 0.1 */
#define MSB_ADAPTIVE_LIMIT_OPTS_INIT                                                               \
    {                                                                                              \
        .size = sizeof(msb_adaptive_limit_opts_t), .algorithm = MSB_ADAPTIVE_GRADIENT,             \
        .initial_limit = 20, .min_limit = 1, .max_limit = 1000, .window_samples = 10,              \
        .clock = NULL, .window_min_ns = 0, .backoff_ratio = 0.9, .timeout_ns = 5 * MSB_SEC,        \
        .rtt_tolerance = 1.5, .smoothing = 0.2, .long_window = 600, .queue_size = 4                \
    }

/** @brief Limit counters, from msb_adaptive_limit_stats(). @since 0.1 */
typedef struct msb_adaptive_limit_stats {
    size_t size;         /**< set by the caller: sizeof(msb_adaptive_limit_stats_t) */
    uint32_t limit;      /**< the current limit */
    uint32_t inflight;   /**< calls in flight now */
    uint64_t accepted;   /**< acquisitions granted since creation */
    uint64_t rejected;   /**< acquisitions refused since creation */
    uint64_t dropped;    /**< outcomes counted as drops since creation */
    uint64_t updates;    /**< windows folded into the limit since creation */
    double short_rtt_ns; /**< gradient: mean latency of the last window */
    double long_rtt_ns;  /**< gradient: the long average */
} msb_adaptive_limit_stats_t;

/**
 * @brief Create an adaptive concurrency limit.
 * @param opts options (NULL: defaults). @param out receives the limit. @param err detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_adaptive_limit_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_adaptive_limit_new(const msb_adaptive_limit_opts_t *opts,
                                            msb_adaptive_limit_t **out, msb_error_t *err);

/**
 * @brief Free a limit. NULL is a no-op.
 * Thread-safety: nothing may use it any more.
 * @since 0.1
 */
MSB_API void msb_adaptive_limit_free(msb_adaptive_limit_t *l);

/**
 * @brief Take a place if fewer calls than the limit are in flight.
 * @return #MSB_OK (call msb_adaptive_limit_release() when the call ends) or #MSB_EREJECTED.
 * Thread-safety: safe from any thread; lock-free, never blocks.
 * @since 0.1
 */
MSB_API msb_status_t msb_adaptive_limit_acquire(msb_adaptive_limit_t *l);

/**
 * @brief End a call taken with msb_adaptive_limit_acquire() and give its latency as a sample.
 * @param l the limit. @param latency_ns how long the call took. @param outcome how it ended.
 * Thread-safety: safe from any thread; lock-free (one thread in `window_samples` also updates
 * the limit, under a try-lock nobody waits for).
 * @since 0.1
 */
MSB_API void msb_adaptive_limit_release(msb_adaptive_limit_t *l, uint64_t latency_ns,
                                        msb_adaptive_outcome_t outcome);

/**
 * @brief Read the counters.
 * @param l the limit. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_adaptive_limit_stats(const msb_adaptive_limit_t *l,
                                      msb_adaptive_limit_stats_t *out);

/* ---- CPU-aware load shedder ---------------------------------------------------------------- */

/** @brief A load shedder (opaque). @since 0.1 */
typedef struct msb_adaptive_shedder msb_adaptive_shedder_t;

/**
 * @brief A source of CPU use replacing the cgroup and /proc readings (tests, or a host program
 * that measures it already). It is called on every acquisition, from any thread: keep it cheap
 * (return a value another thread refreshes) and already smoothed (no average is applied).
 * @param user the `cpu_user` of the options.
 * @return CPU use in permille of the available CPU (0..1000; larger values count as 1000).
 * @since 0.1
 */
typedef uint32_t (*msb_adaptive_cpu_fn)(void *user);

/** @brief Shedder options. Initialise with #MSB_ADAPTIVE_SHEDDER_OPTS_INIT. @since 0.1 */
typedef struct msb_adaptive_shedder_opts {
    size_t size;              /**< sizeof(msb_adaptive_shedder_opts_t) */
    const msb_clock_t *clock; /**< NULL: msb_clock_real() */
    uint32_t cpu_threshold;   /**< CPU use (permille) above which shedding starts, 1..999.
                                   Default 900 */
    uint64_t window_ns;       /**< history for maxPass and minRt, >= 10 ms. Default 5 s */
    uint32_t window_buckets;  /**< buckets of the window, 2..3600. Default 50 */
    uint64_t cool_off_ns;     /**< keep shedding this long after the CPU was last over the
                                   threshold. Default 1 s */
    uint64_t cpu_interval_ns; /**< CPU sampling period, >= 1 ms. Default 250 ms */
    const char *cgroup_root;  /**< where cgroups are mounted; copied. Default "/sys/fs/cgroup" */
    const char *proc_root;    /**< where procfs is mounted; copied. Default "/proc" */
    msb_adaptive_cpu_fn cpu;  /**< NULL (default): read cgroup or /proc files */
    void *cpu_user;           /**< passed to `cpu` */
} msb_adaptive_shedder_opts_t;

/** @brief Defaults of #msb_adaptive_shedder_opts_t. @since 0.1 */
#define MSB_ADAPTIVE_SHEDDER_OPTS_INIT                                                             \
    {                                                                                              \
        .size = sizeof(msb_adaptive_shedder_opts_t), .clock = NULL, .cpu_threshold = 900,          \
        .window_ns = 5 * MSB_SEC, .window_buckets = 50, .cool_off_ns = MSB_SEC,                    \
        .cpu_interval_ns = 250 * MSB_MSEC, .cgroup_root = NULL, .proc_root = NULL, .cpu = NULL,    \
        .cpu_user = NULL                                                                           \
    }

/** @brief Where the shedder reads CPU use from. @since 0.1 */
typedef enum msb_adaptive_cpu_source {
    MSB_ADAPTIVE_CPU_CALLBACK = 0,  /**< the `cpu` option */
    MSB_ADAPTIVE_CPU_CGROUP_V2 = 1, /**< cgroup v2 cpu.stat, against cpu.max or the cores */
    MSB_ADAPTIVE_CPU_CGROUP_V1 = 2, /**< cgroup v1 cpuacct.usage, against cpu.cfs_quota_us */
    MSB_ADAPTIVE_CPU_PROC_STAT = 3, /**< /proc/stat: the whole host */
    MSB_ADAPTIVE_CPU_NONE = 4       /**< nothing readable: CPU use counts as 0 (never sheds) */
} msb_adaptive_cpu_source_t;

/** @brief Shedder counters, from msb_adaptive_shedder_stats(). @since 0.1 */
typedef struct msb_adaptive_shedder_stats {
    size_t size;                      /**< set by the caller */
    msb_adaptive_cpu_source_t source; /**< where CPU use comes from */
    double cpu_limit_cores;           /**< CPUs available to the cgroup (or host) */
    uint32_t cpu_permille;            /**< smoothed CPU use */
    uint32_t inflight;                /**< calls in flight now */
    double avg_inflight;              /**< their moving average */
    double max_flight;                /**< maxPass × buckets-per-second × minRt now */
    uint64_t passed;                  /**< calls admitted since creation */
    uint64_t dropped;                 /**< calls shed since creation */
} msb_adaptive_shedder_stats_t;

/**
 * @brief Create a load shedder (and find the CPU source: see the file description).
 * @param opts options (NULL: defaults). @param out receives the shedder. @param err detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_adaptive_shedder_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_adaptive_shedder_new(const msb_adaptive_shedder_opts_t *opts,
                                              msb_adaptive_shedder_t **out, msb_error_t *err);

/**
 * @brief Free a shedder. NULL is a no-op.
 * Thread-safety: nothing may use it any more.
 * @since 0.1
 */
MSB_API void msb_adaptive_shedder_free(msb_adaptive_shedder_t *s);

/**
 * @brief Admit or shed a call.
 * @return #MSB_OK (call msb_adaptive_shedder_release() when it ends) or #MSB_EREJECTED.
 * Thread-safety: safe from any thread; lock-free. Reads no clock and no file unless the CPU is
 * over the threshold or was recently.
 * @since 0.1
 */
MSB_API msb_status_t msb_adaptive_shedder_acquire(msb_adaptive_shedder_t *s);

/**
 * @brief End an admitted call. A #MSB_ADAPTIVE_SUCCESS counts as a pass with its latency; the
 * other outcomes only end the call.
 * @param s the shedder. @param latency_ns how long the call took. @param outcome how it ended.
 * Thread-safety: safe from any thread; lock-free (one call per `cpu_interval_ns` also samples
 * the CPU).
 * @since 0.1
 */
MSB_API void msb_adaptive_shedder_release(msb_adaptive_shedder_t *s, uint64_t latency_ns,
                                          msb_adaptive_outcome_t outcome);

/**
 * @brief Read the counters (and sample the CPU now if the sample is stale).
 * @param s the shedder. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_adaptive_shedder_stats(msb_adaptive_shedder_t *s,
                                        msb_adaptive_shedder_stats_t *out);

MSB_END_DECLS

#endif /* MSB_ADAPTIVE_H */
