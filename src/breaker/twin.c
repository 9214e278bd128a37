#include <sched.h>

#include "breaker/twin.h"
#include "core/alloc.h"

msb_status_t msb__twin_init(msb__twin_t *w, uint64_t window_ns, uint32_t nbuckets, uint32_t nfields,
                            uint64_t now)
{
    w->nbuckets = nbuckets;
    w->nfields = nfields;
    w->no_total = false;
    w->bucket_ns = window_ns / nbuckets;
    if (w->bucket_ns == 0) {
        w->bucket_ns = 1;
    }
    w->slots = msb__calloc(nbuckets, sizeof(*w->slots));
    if (w->slots == NULL) {
        return MSB_ENOMEM;
    }
    uint64_t cur = now / w->bucket_ns;
    /* Slot i holds the epoch of the window's range (cur - nbuckets, cur] that maps to it. */
    for (uint32_t k = 0; k < nbuckets; k++) {
        uint64_t e = cur >= k ? cur - k : 0;
        atomic_init(&w->slots[e % nbuckets].epoch, e);
    }
    atomic_init(&w->cur_epoch, cur);
    atomic_init(&w->rotating, 0);
    for (uint32_t f = 0; f < MSB__TWIN_FIELDS; f++) {
        atomic_init(&w->total[f], 0);
        atomic_init(&w->expired[f], 0);
    }
    return MSB_OK;
}

void msb__twin_destroy(msb__twin_t *w)
{
    msb__free(w->slots);
    w->slots = NULL;
}

static void expire_slot(msb__twin_t *w, msb__twin_slot_t *s)
{
    for (uint32_t f = 0; f < w->nfields; f++) {
        int64_t old = atomic_exchange_explicit(&s->v[f], 0, memory_order_acquire);
        if (old != 0) {
            if (!w->no_total) {
                atomic_fetch_sub_explicit(&w->total[f], old, memory_order_relaxed);
            }
            atomic_fetch_add_explicit(&w->expired[f], old, memory_order_relaxed);
        }
    }
}

bool msb__twin_advance(msb__twin_t *w, uint64_t now)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&w->rotating, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return false; /* another thread is moving the window; the caller uses the old bucket */
    }
    uint64_t e = now / w->bucket_ns;
    uint64_t cur = atomic_load_explicit(&w->cur_epoch, memory_order_relaxed);
    bool moved = false;
    if (e > cur) {
        /* Epochs cur+1..e take over their slots; the slot of epoch x held x - nbuckets, which
         * has now left the window. A gap of a whole window or more expires every slot once. */
        uint64_t from = e - cur > w->nbuckets ? e - w->nbuckets + 1 : cur + 1;
        for (uint64_t x = from; x <= e; x++) {
            msb__twin_slot_t *s = &w->slots[x % w->nbuckets];
            expire_slot(w, s);
            atomic_store_explicit(&s->epoch, x, memory_order_release);
        }
        atomic_store_explicit(&w->cur_epoch, e, memory_order_release);
        moved = true;
    }
    atomic_store_explicit(&w->rotating, 0, memory_order_release);
    return moved;
}

int64_t msb__twin_sum(const msb__twin_t *w, uint32_t f)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < w->nbuckets; i++) {
        sum += atomic_load_explicit(&w->slots[i].v[f], memory_order_acquire);
    }
    return sum < 0 ? 0 : sum;
}

int64_t msb__twin_cumulative(const msb__twin_t *w, uint32_t f)
{
    int64_t live = w->no_total ? msb__twin_sum(w, f)
                               : atomic_load_explicit(&w->total[f], memory_order_acquire);
    return live + atomic_load_explicit(&w->expired[f], memory_order_acquire);
}

void msb__twin_clear(msb__twin_t *w)
{
    int expected = 0;
    /* A rare reset: wait for a rotation in progress (it holds the flag for a few stores). */
    while (!atomic_compare_exchange_weak_explicit(&w->rotating, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
        expected = 0;
        sched_yield();
    }
    for (uint32_t i = 0; i < w->nbuckets; i++) {
        expire_slot(w, &w->slots[i]);
    }
    atomic_store_explicit(&w->rotating, 0, memory_order_release);
}

void msb__twin_visit(msb__twin_t *w, bool skip_current, msb__twin_visit_fn fn, void *user)
{
    uint64_t cur = atomic_load_explicit(&w->cur_epoch, memory_order_acquire);
    uint64_t lo = cur >= w->nbuckets ? cur - w->nbuckets + 1 : 0;
    for (uint64_t e = lo; e <= cur; e++) {
        if (skip_current && e == cur) {
            break;
        }
        const msb__twin_slot_t *s = &w->slots[e % w->nbuckets];
        if (atomic_load_explicit(&s->epoch, memory_order_acquire) != e) {
            continue; /* rotated meanwhile: no longer this epoch */
        }
        int64_t v[MSB__TWIN_FIELDS] = {0, 0, 0};
        for (uint32_t f = 0; f < w->nfields; f++) {
            v[f] = atomic_load_explicit(&s->v[f], memory_order_acquire);
        }
        fn(v, user);
    }
}
