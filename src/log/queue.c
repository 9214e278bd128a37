/*
 * The bounded queue between logging threads and the sink, and its writer thread.
 *
 * The queue is a bip buffer of bytes: records go at the end of region A = [a_start, a_end); when
 * one no longer fits there, region B = [0, b_end) opens at the start of the ring and fills until
 * it would reach a_start. The writer always takes region A whole, so every record and every batch
 * is contiguous (one write(2) per batch, no record split across the wrap) and no byte is copied
 * twice. Producers hold the lock only to copy their record in; the writer never holds it while
 * writing, and producers never touch the bytes the writer is writing.
 *
 * The writer sleeps until `threshold` bytes wait, a flush is requested or the flush interval
 * passes with something queued; a producer wakes it only when it puts the first record into an
 * empty queue (to start the interval) or crosses the threshold, so a busy logger pays one futex
 * wake per batch, not per record.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "log/log_impl.h"

static struct timespec deadline_after(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t = (int64_t)ts.tv_nsec + ns % MSB_SEC;
    ts.tv_sec += (time_t)(ns / MSB_SEC + t / MSB_SEC);
    ts.tv_nsec = (long)(t % MSB_SEC);
    return ts;
}

/* Room for n contiguous bytes; returns their offset or SIZE_MAX. Under mu. */
static size_t reserve(msb__log_core_t *c, size_t n)
{
    size_t pos;
    if (c->b_on) {
        if (c->a_start - c->b_end < n) {
            return SIZE_MAX;
        }
        pos = c->b_end;
        c->b_end += n;
    } else if (c->cap - c->a_end >= n) {
        pos = c->a_end;
        c->a_end += n;
    } else if (c->a_start >= n) {
        c->b_on = true;
        pos = 0;
        c->b_end = n;
    } else {
        return SIZE_MAX;
    }
    c->pending += n;
    c->in_bytes += n;
    return pos;
}

static bool is_writer(const msb__log_core_t *c)
{
    return c->writer_started && pthread_equal(pthread_self(), c->writer);
}

void msb__log_queue_push(msb__log_core_t *c, const char *rec, size_t len)
{
    pthread_mutex_lock(&c->mu);
    size_t pos = reserve(c, len);
    if (pos == SIZE_MAX && c->overflow == MSB_LOG_OVERFLOW_BLOCK && len <= c->cap &&
        c->block_ns > 0 && !is_writer(c)) {
        struct timespec dl = deadline_after(c->block_ns);
        while (pos == SIZE_MAX) {
            if (c->writer_idle) {
                pthread_cond_signal(&c->wake);
            }
            c->room_waiters++;
            int rc = pthread_cond_timedwait(&c->room, &c->mu, &dl);
            c->room_waiters--;
            pos = reserve(c, len);
            if (rc == ETIMEDOUT) {
                break;
            }
        }
    }
    if (pos == SIZE_MAX) {
        c->dropped++;
        if (c->writer_idle) {
            pthread_cond_signal(&c->wake);
        }
        pthread_mutex_unlock(&c->mu);
        return;
    }
    memcpy(c->ring + pos, rec, len);
    c->queued++;
    size_t before = c->pending - len;
    bool wake =
        c->writer_idle && (before == 0 || (before < c->threshold && c->pending >= c->threshold));
    pthread_mutex_unlock(&c->mu);
    if (wake) {
        pthread_cond_signal(&c->wake);
    }
}

/* Wait (under mu) until there is something to write; false when stopping with nothing left. */
static bool writer_wait(msb__log_core_t *c)
{
    for (;;) {
        if (c->pending > 0 && (c->pending >= c->threshold || c->stop || c->flush_waiters > 0)) {
            return true;
        }
        if (c->pending == 0 && c->stop) {
            return false;
        }
        c->writer_idle = true;
        int rc;
        if (c->pending == 0) {
            rc = pthread_cond_wait(&c->wake, &c->mu);
        } else {
            struct timespec dl = deadline_after(c->interval_ns);
            rc = pthread_cond_timedwait(&c->wake, &c->mu, &dl);
        }
        c->writer_idle = false;
        if (rc == ETIMEDOUT && c->pending > 0) {
            return true;
        }
    }
}

static void *writer_main(void *arg)
{
    msb__log_core_t *c = arg;
    pthread_mutex_lock(&c->mu);
    while (writer_wait(c)) {
        size_t start = c->a_start;
        size_t end = c->a_end;
        pthread_mutex_unlock(&c->mu);

        uint64_t written = 0;
        uint64_t failed = 0;
        pthread_mutex_lock(&c->sink_mu);
        msb__log_sink_write(c, c->ring + start, end - start, &written, &failed);
        pthread_mutex_unlock(&c->sink_mu);

        pthread_mutex_lock(&c->mu);
        c->written += written;
        c->write_failed += failed;
        c->a_start = end;
        c->pending -= end - start;
        c->out_bytes += end - start;
        if (c->a_start == c->a_end) {
            c->a_start = 0;
            c->a_end = c->b_on ? c->b_end : 0;
            c->b_on = false;
            c->b_end = 0;
        }
        if (c->room_waiters > 0 || c->flush_waiters > 0) {
            pthread_cond_broadcast(&c->room);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

msb_status_t msb__log_queue_start(msb__log_core_t *c, msb_error_t *err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_cond_init(&c->room, &ca);
    pthread_condattr_destroy(&ca);

    /* The writer takes no signal: SIGHUP, SIGTERM and SIGPIPE stay with the program's threads
     * (a write to a closed pipe then fails with EPIPE instead of killing the process). */
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->writer, NULL, writer_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->room);
        char msg[128];
        return msb__err(err, MSB_EIO, "log: cannot start the writer thread: %s",
                        strerror_r(rc, msg, sizeof(msg)));
    }
    pthread_setname_np(c->writer, "msb-log");
    c->writer_started = true;
    return MSB_OK;
}

msb_status_t msb__log_queue_flush(msb__log_core_t *c, int64_t timeout_ms)
{
    if (is_writer(c)) {
        return MSB_EBUSY;
    }
    struct timespec dl = deadline_after(timeout_ms < 0 ? 0 : timeout_ms * MSB_MSEC);
    msb_status_t st = MSB_OK;
    pthread_mutex_lock(&c->mu);
    uint64_t target = c->in_bytes;
    while (c->out_bytes < target) {
        c->flush_waiters++;
        if (c->writer_idle) {
            pthread_cond_signal(&c->wake);
        }
        int rc = timeout_ms < 0 ? pthread_cond_wait(&c->room, &c->mu)
                                : pthread_cond_timedwait(&c->room, &c->mu, &dl);
        c->flush_waiters--;
        if (rc == ETIMEDOUT && c->out_bytes < target) {
            st = MSB_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}

void msb__log_queue_stop(msb__log_core_t *c)
{
    if (!c->writer_started) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->writer, NULL);
    c->writer_started = false;
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->room);
}
