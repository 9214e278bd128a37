/**
 * @file clock.h
 * @brief The one clock interface every module takes: monotonic and wall time.
 *
 * Modules that measure time (breakers, limiters, TTLs, pools, retries, logs) take a
 * `const msb_clock_t *` in their options; NULL means msb_clock_real(). Tests pass a manual clock
 * and move time by hand, so time-dependent behaviour is deterministic.
 *
 * The struct is public so that a program can supply its own clock (for example one whose value is
 * cached once per event-loop tick). Both functions must be safe to call from any thread, and
 * `monotonic_ns` must never go backwards.
 */
#ifndef MSB_CLOCK_H
#define MSB_CLOCK_H

#include <stdint.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A clock. See the file description. @since 0.1 */
typedef struct msb_clock msb_clock_t;

/** @brief The clock's two readings; implementations fill both. @since 0.1 */
struct msb_clock {
    /** Nanoseconds on a monotonic time line with an arbitrary origin; never decreases. */
    uint64_t (*monotonic_ns)(const msb_clock_t *clock);
    /** Nanoseconds since 1970-01-01T00:00:00Z (may jump when the system clock is set). */
    int64_t (*realtime_ns)(const msb_clock_t *clock);
};

/** Nanoseconds per millisecond, for readable arithmetic. */
#define MSB_MSEC INT64_C(1000000)
/** Nanoseconds per second. */
#define MSB_SEC INT64_C(1000000000)

/**
 * @brief The precise system clock: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
 *
 * About 20–30 ns a reading on KVM guests (kvm-clock).
 * @return a static clock, never NULL. Ownership: borrowed, valid for the process' life.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const msb_clock_t *msb_clock_real(void);

/**
 * @brief The coarse system clock: `CLOCK_MONOTONIC_COARSE` and `CLOCK_REALTIME_COARSE`.
 *
 * A few nanoseconds a reading, with the resolution of the kernel tick (1–4 ms). Suitable for
 * rate limiters, TTLs and breaker windows whose granularity is coarser than that.
 * @return a static clock, never NULL. Ownership: borrowed, valid for the process' life.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const msb_clock_t *msb_clock_coarse(void);

/**
 * @brief Create a manual clock for tests: time moves only when msb_clock_manual_advance() or
 * msb_clock_manual_set() is called.
 *
 * @param monotonic_ns the initial monotonic reading.
 * @param realtime_ns the initial wall-clock reading (ns since the Unix epoch).
 * @param out receives the new clock; free it with msb_clock_manual_free().
 * @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: the clock may be read and moved from any thread
 * (atomics).
 * @since 0.1
 */
MSB_API msb_status_t msb_clock_manual_new(uint64_t monotonic_ns, int64_t realtime_ns,
                                          msb_clock_t **out);

/**
 * @brief Move a manual clock forward by `delta_ns` (both readings).
 *
 * @param clock a clock from msb_clock_manual_new(); anything else is undefined behaviour.
 * @param delta_ns nanoseconds to add.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_clock_manual_advance(msb_clock_t *clock, uint64_t delta_ns);

/**
 * @brief Set a manual clock's readings. A monotonic value lower than the current one is ignored
 * (the monotonic reading never goes backwards); the wall reading is set as given.
 *
 * @param clock a clock from msb_clock_manual_new().
 * @param monotonic_ns the new monotonic reading.
 * @param realtime_ns the new wall reading (ns since the Unix epoch).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_clock_manual_set(msb_clock_t *clock, uint64_t monotonic_ns, int64_t realtime_ns);

/**
 * @brief Free a manual clock. NULL is a no-op.
 *
 * Thread-safety: no other thread may be using the clock.
 * @since 0.1
 */
MSB_API void msb_clock_manual_free(msb_clock_t *clock);

/**
 * @brief Read a clock's monotonic time; NULL reads msb_clock_real().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API uint64_t msb_clock_monotonic_ns(const msb_clock_t *clock);

/**
 * @brief Read a clock's wall time (ns since the Unix epoch); NULL reads msb_clock_real().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API int64_t msb_clock_realtime_ns(const msb_clock_t *clock);

MSB_END_DECLS

#endif /* MSB_CLOCK_H */
