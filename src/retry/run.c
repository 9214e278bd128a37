/* The blocking helper msb_retry_run() and its cancellation token. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "retry/retry_int.h"

struct msb_retry_cancel {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    atomic_bool cancelled;
};

msb_status_t msb_retry_cancel_new(msb_retry_cancel_t **out)
{
    msb_retry_cancel_t *c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return MSB_ENOMEM;
    }
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) {
        msb__free(c);
        return MSB_ENOMEM;
    }
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&c->cv, &a);
    pthread_condattr_destroy(&a);
    if (rc != 0) {
        msb__free(c);
        return MSB_ENOMEM;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        pthread_cond_destroy(&c->cv);
        msb__free(c);
        return MSB_ENOMEM;
    }
    atomic_init(&c->cancelled, false);
    *out = c;
    return MSB_OK;
}

void msb_retry_cancel_free(msb_retry_cancel_t *c)
{
    if (c == NULL) {
        return;
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    msb__free(c);
}

void msb_retry_cancel(msb_retry_cancel_t *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store_explicit(&c->cancelled, true, memory_order_release);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

bool msb_retry_cancelled(const msb_retry_cancel_t *c)
{
    return atomic_load_explicit(&c->cancelled, memory_order_acquire);
}

static struct timespec deadline_after(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns % (uint64_t)MSB_SEC;
    ts.tv_sec += (time_t)(ns / (uint64_t)MSB_SEC + t / (uint64_t)MSB_SEC);
    ts.tv_nsec = (long)(t % (uint64_t)MSB_SEC);
    return ts;
}

/* Wait `ns`; false if cancelled (before or during the wait). */
static bool wait_for(const msb_retry_t *r, msb_retry_cancel_t *c, uint64_t ns)
{
    if (r->sleep != NULL) {
        r->sleep(ns, r->sleep_user);
        return c == NULL || !msb_retry_cancelled(c);
    }
    struct timespec until = deadline_after(ns);
    if (c == NULL) {
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
        }
        return true;
    }
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (!atomic_load_explicit(&c->cancelled, memory_order_acquire) && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    }
    bool ok = !atomic_load_explicit(&c->cancelled, memory_order_acquire);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

msb_status_t msb_retry_run(msb_retry_t *r, msb_retry_fn fn, void *user, msb_retry_cancel_t *cancel,
                           msb_retry_verdict_t *verdict, msb_error_t *err)
{
    msb_retry_verdict_t dummy;
    if (verdict == NULL) {
        verdict = &dummy;
    }
    if (r == NULL || fn == NULL) {
        *verdict = MSB_RETRY_NOT_RETRYABLE;
        return msb__err(err, MSB_EINVAL, "retry: %s is NULL", r == NULL ? "policy" : "fn");
    }
    msb_retry_call_t call;
    msb_retry_begin(r, &call);
    for (;;) {
        if (cancel != NULL && msb_retry_cancelled(cancel)) {
            *verdict = MSB_RETRY_CANCELED;
            return msb__err(err, MSB_ECANCELED, "retry: cancelled before attempt %u", call.attempt);
        }
        msb_retry_feedback_t fb = {NULL, 0};
        msb_status_t rc = fn(call.attempt, &fb, user);
        uint32_t made = call.attempt;
        uint64_t delay;
        msb_retry_verdict_t v = msb_retry_next(r, &call, rc, fb.detail, fb.retry_after_ns, &delay);
        *verdict = v;
        if (v == MSB_RETRY_DONE) {
            return MSB_OK;
        }
        if (v != MSB_RETRY_AGAIN) {
            return msb__err(err, rc, "retry: gave up after %u attempt%s (%s): %s", made,
                            made == 1 ? "" : "s", msb_retry_verdict_name(v), msb_strerror(rc));
        }
        if (!wait_for(r, cancel, delay)) {
            *verdict = MSB_RETRY_CANCELED;
            return msb__err(err, MSB_ECANCELED, "retry: cancelled while waiting for attempt %u",
                            call.attempt);
        }
    }
}
