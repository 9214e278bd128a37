#include <stdatomic.h>
#include <time.h>

#include "core/alloc.h"
#include "msb/clock.h"

static uint64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * (uint64_t)MSB_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t real_monotonic(const msb_clock_t *c)
{
    (void)c;
    return read_clock(CLOCK_MONOTONIC);
}

static int64_t real_realtime(const msb_clock_t *c)
{
    (void)c;
    return (int64_t)read_clock(CLOCK_REALTIME);
}

static uint64_t coarse_monotonic(const msb_clock_t *c)
{
    (void)c;
    return read_clock(CLOCK_MONOTONIC_COARSE);
}

static int64_t coarse_realtime(const msb_clock_t *c)
{
    (void)c;
    return (int64_t)read_clock(CLOCK_REALTIME_COARSE);
}

static const msb_clock_t real_clock = {real_monotonic, real_realtime};
static const msb_clock_t coarse_clock = {coarse_monotonic, coarse_realtime};

const msb_clock_t *msb_clock_real(void)
{
    return &real_clock;
}

const msb_clock_t *msb_clock_coarse(void)
{
    return &coarse_clock;
}

typedef struct manual_clock {
    msb_clock_t base; /* first: a msb_clock_t * is a manual_clock * */
    _Atomic uint64_t monotonic;
    _Atomic int64_t realtime;
} manual_clock_t;

static uint64_t manual_monotonic(const msb_clock_t *c)
{
    const manual_clock_t *m = (const manual_clock_t *)c;
    return atomic_load_explicit(&m->monotonic, memory_order_acquire);
}

static int64_t manual_realtime(const msb_clock_t *c)
{
    const manual_clock_t *m = (const manual_clock_t *)c;
    return atomic_load_explicit(&m->realtime, memory_order_acquire);
}

msb_status_t msb_clock_manual_new(uint64_t monotonic_ns, int64_t realtime_ns, msb_clock_t **out)
{
    manual_clock_t *m = msb__calloc(1, sizeof(*m));
    if (m == NULL) {
        return MSB_ENOMEM;
    }
    m->base.monotonic_ns = manual_monotonic;
    m->base.realtime_ns = manual_realtime;
    atomic_init(&m->monotonic, monotonic_ns);
    atomic_init(&m->realtime, realtime_ns);
    *out = &m->base;
    return MSB_OK;
}

void msb_clock_manual_advance(msb_clock_t *clock, uint64_t delta_ns)
{
    manual_clock_t *m = (manual_clock_t *)clock;
    atomic_fetch_add_explicit(&m->monotonic, delta_ns, memory_order_acq_rel);
    atomic_fetch_add_explicit(&m->realtime, (int64_t)delta_ns, memory_order_acq_rel);
}

void msb_clock_manual_set(msb_clock_t *clock, uint64_t monotonic_ns, int64_t realtime_ns)
{
    manual_clock_t *m = (manual_clock_t *)clock;
    uint64_t cur = atomic_load_explicit(&m->monotonic, memory_order_acquire);
    while (monotonic_ns > cur &&
           !atomic_compare_exchange_weak_explicit(&m->monotonic, &cur, monotonic_ns,
                                                  memory_order_acq_rel, memory_order_acquire)) {
    }
    atomic_store_explicit(&m->realtime, realtime_ns, memory_order_release);
}

void msb_clock_manual_free(msb_clock_t *clock)
{
    msb__free(clock);
}

uint64_t msb_clock_monotonic_ns(const msb_clock_t *clock)
{
    if (clock == NULL) {
        clock = &real_clock;
    }
    return clock->monotonic_ns(clock);
}

int64_t msb_clock_realtime_ns(const msb_clock_t *clock)
{
    if (clock == NULL) {
        clock = &real_clock;
    }
    return clock->realtime_ns(clock);
}
