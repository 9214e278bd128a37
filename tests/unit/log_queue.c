/* The queue: a stuck sink never blocks a caller beyond the bound; drops are counted; flush. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "log/log_impl.h"
#include "msb/log.h"
#include "support/log_capture.h"

static capture_t cap;

static void setup(void)
{
    capture_init(&cap);
}

static void teardown(void)
{
    capture_fini(&cap);
}

TestSuite(log_queue, .init = setup, .fini = teardown);

static msb_log_t *small_queue(msb_log_overflow_t overflow, uint32_t block_ms)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.queue_size = 4096;
    o.buffer_size = 1024;
    o.overflow = overflow;
    o.block_timeout_ms = block_ms;
    return capture_logger(&cap, &o);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sequence numbers of the records received, checked to be increasing. */
static void check_in_order(void)
{
    int64_t last = -1;
    for (size_t i = 0; i < capture_count(&cap); i++) {
        json_t *j = capture_json(&cap, i);
        int64_t seq = json_integer_value(json_object_get(j, "seq"));
        cr_assert_gt(seq, last, "record %zu out of order", i);
        last = seq;
        json_decref(j);
    }
}

Test(log_queue, stuck_sink_drop_policy_never_blocks_and_counts)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_DROP, 0);
    capture_hold(&cap, 1);
    msb_log_write(lg, MSB_LOG_INFO, "first", MSB_LOG_FIELDS(MSB_LOG_I64("seq", 0)));
    capture_wait_in_sink(&cap); /* the writer is now stuck inside the sink */
    /* Were a caller to wait for the stuck sink, this loop would never end. */
    for (int i = 1; i < 1000; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "record", MSB_LOG_FIELDS(MSB_LOG_I64("seq", i)));
    }
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_gt(st.dropped, 0);
    cr_assert_eq(st.queued + st.dropped, 1000);
    cr_assert_leq(st.queue_bytes, 4096);
    capture_hold(&cap, 0);
    cr_assert_eq(msb_log_flush(lg, -1), MSB_OK);
    msb_log_stats(lg, &st);
    cr_assert_eq(st.written, st.queued);
    cr_assert_eq(st.written + st.dropped, 1000);
    cr_assert_eq(capture_count(&cap), st.written);
    cr_assert_eq(st.queue_bytes, 0);
    check_in_order();
    msb_log_free(lg);
}

Test(log_queue, stuck_sink_block_policy_waits_at_most_the_bound)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_BLOCK, 50);
    capture_hold(&cap, 1);
    msb_log_write(lg, MSB_LOG_INFO, "first", MSB_LOG_FIELDS(MSB_LOG_I64("seq", 0)));
    capture_wait_in_sink(&cap);
    msb_log_stats_t st = {.size = sizeof(st)};
    int seq = 1;
    do { /* fill the queue */
        msb_log_write(lg, MSB_LOG_INFO, "fill", MSB_LOG_FIELDS(MSB_LOG_I64("seq", seq++)));
        msb_log_stats(lg, &st);
    } while (st.queue_bytes + 200 < 4096);
    int64_t t0 = now_ms();
    for (int i = 0; i < 3; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "over", MSB_LOG_FIELDS(MSB_LOG_I64("seq", seq++)));
    }
    int64_t waited = now_ms() - t0;
    msb_log_stats(lg, &st);
    cr_assert_geq(st.dropped, 1);
    cr_assert_geq(waited, 45 * (int64_t)st.dropped, "a full queue must be waited on");
    cr_assert_lt(waited, 5000, "waited %lld ms: beyond the bound", (long long)waited);
    capture_hold(&cap, 0);
    msb_log_flush(lg, -1);
    msb_log_stats(lg, &st);
    cr_assert_eq(st.written + st.dropped, (uint64_t)seq);
    check_in_order();
    msb_log_free(lg);
}

typedef struct producer {
    msb_log_t *lg;
    atomic_int done;
} producer_t;

static void *produce_one(void *arg)
{
    producer_t *p = arg;
    char pad[300]; /* more than the room left in the queue */
    memset(pad, 'p', sizeof(pad));
    msb_log_write(
        p->lg, MSB_LOG_INFO, "waiting",
        MSB_LOG_FIELDS(MSB_LOG_I64("seq", 100000), MSB_LOG_STRN("pad", pad, sizeof(pad))));
    atomic_store(&p->done, 1);
    return NULL;
}

static unsigned room_waiters(msb_log_t *lg)
{
    pthread_mutex_lock(&lg->core->mu);
    unsigned n = lg->core->room_waiters;
    pthread_mutex_unlock(&lg->core->mu);
    return n;
}

Test(log_queue, block_policy_proceeds_when_room_appears)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_BLOCK, 60000);
    capture_hold(&cap, 1);
    msb_log_write(lg, MSB_LOG_INFO, "first", MSB_LOG_FIELDS(MSB_LOG_I64("seq", 0)));
    capture_wait_in_sink(&cap);
    msb_log_stats_t st = {.size = sizeof(st)};
    int seq = 1;
    do {
        msb_log_write(lg, MSB_LOG_INFO, "fill", MSB_LOG_FIELDS(MSB_LOG_I64("seq", seq++)));
        msb_log_stats(lg, &st);
    } while (st.queue_bytes + 200 < 4096);
    producer_t p = {lg, 0};
    pthread_t th;
    pthread_create(&th, NULL, produce_one, &p);
    while (room_waiters(lg) == 0 && !atomic_load(&p.done)) {
        sched_yield(); /* until the producer waits for room */
    }
    cr_assert_eq(atomic_load(&p.done), 0, "the record did not have to wait");
    capture_hold(&cap, 0);
    pthread_join(th, NULL);
    msb_log_flush(lg, -1);
    msb_log_stats(lg, &st);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.written, (uint64_t)seq + 1);
    check_in_order();
    msb_log_free(lg);
}

Test(log_queue, flush_times_out_on_a_stuck_sink)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_DROP, 0);
    capture_hold(&cap, 1);
    msb_log_write(lg, MSB_LOG_INFO, "a", NULL, 0);
    capture_wait_in_sink(&cap);
    msb_log_write(lg, MSB_LOG_INFO, "b", NULL, 0);
    cr_assert_eq(msb_log_flush(lg, 30), MSB_ETIMEDOUT);
    capture_hold(&cap, 0);
    cr_assert_eq(msb_log_flush(lg, 10000), MSB_OK);
    cr_assert_eq(capture_count(&cap), 2);
    msb_log_free(lg);
}

Test(log_queue, interval_writes_without_flush)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.flush_interval_ms = 5;
    msb_log_t *lg = capture_logger(&cap, &o);
    msb_log_write(lg, MSB_LOG_INFO, "soon", NULL, 0);
    capture_wait(&cap, 1); /* below buffer_size: the interval alone brings it out */
    msb_log_write(lg, MSB_LOG_INFO, "again", NULL, 0);
    capture_wait(&cap, 2);
    msb_log_free(lg);
}

Test(log_queue, free_writes_everything_queued)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.flush_interval_ms = 60000;
    msb_log_t *lg = capture_logger(&cap, &o);
    for (int i = 0; i < 500; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "r", MSB_LOG_FIELDS(MSB_LOG_I64("seq", i)));
    }
    msb_log_free(lg);
    cr_assert_eq(capture_count(&cap), 500);
    check_in_order();
}

Test(log_queue, wraps_around_the_ring_many_times)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.queue_size = 4096;
    o.buffer_size = 700;
    o.overflow = MSB_LOG_OVERFLOW_BLOCK;
    o.block_timeout_ms = 60000;
    msb_log_t *lg = capture_logger(&cap, &o);
    char pad[300];
    memset(pad, 'p', sizeof(pad));
    for (int i = 0; i < 3000; i++) {
        msb_log_write(
            lg, MSB_LOG_INFO, "wrap",
            MSB_LOG_FIELDS(MSB_LOG_I64("seq", i), MSB_LOG_STRN("pad", pad, (size_t)i % 300)));
    }
    msb_log_flush(lg, -1);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(capture_count(&cap), 3000);
    check_in_order();
    msb_log_free(lg);
}

Test(log_queue, record_larger_than_the_queue_is_dropped)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_BLOCK, 60000);
    char big[5000];
    memset(big, 'x', sizeof(big));
    msb_log_write(lg, MSB_LOG_INFO, "big", MSB_LOG_FIELDS(MSB_LOG_STRN("v", big, sizeof(big))));
    msb_log_write(lg, MSB_LOG_INFO, "small", NULL, 0);
    msb_log_flush(lg, -1);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.written, 1);
    msb_log_free(lg);
}

static msb_log_t *self_logger;

static void logging_sink(const char *rec, size_t len, void *user)
{
    capture_sink(rec, len, user);
    if (memmem(rec, len, "\"msg\":\"outer\"", 13) != NULL) {
        msb_log_write(self_logger, MSB_LOG_INFO, "from the sink", NULL, 0);
        /* Asynchronous: the writer cannot wait for itself; synchronous: nothing to wait for. */
        cr_assert_eq(msb_log_flush(self_logger, 1000),
                     self_logger->core->async ? MSB_EBUSY : MSB_OK);
    }
}

Test(log_queue, a_sink_that_logs_into_its_own_logger_does_not_deadlock)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.overflow = MSB_LOG_OVERFLOW_BLOCK;
    o.block_timeout_ms = 60000;
    o.sink = MSB_LOG_SINK_CALLBACK;
    o.callback = logging_sink;
    o.callback_user = &cap;
    cr_assert_eq(msb_log_new(&o, &self_logger, NULL), MSB_OK);
    msb_log_write(self_logger, MSB_LOG_INFO, "outer", NULL, 0);
    msb_log_flush(self_logger, -1);
    msb_log_flush(self_logger, -1);
    cr_assert_eq(capture_count(&cap), 2);
    msb_log_free(self_logger);

    /* Synchronous: the nested record would need the sink's lock; it is dropped and counted. */
    capture_fini(&cap);
    capture_init(&cap);
    o.synchronous = true;
    cr_assert_eq(msb_log_new(&o, &self_logger, NULL), MSB_OK);
    msb_log_write(self_logger, MSB_LOG_INFO, "outer", NULL, 0);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(self_logger, &st);
    cr_assert_eq(st.written, 1);
    cr_assert_eq(st.dropped, 1);
    msb_log_free(self_logger);
}

Test(log_queue, synchronous_logger_writes_before_returning)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.synchronous = true;
    o.queue_size = 1; /* ignored when synchronous */
    msb_log_t *lg = capture_logger(&cap, &o);
    for (size_t i = 0; i < 10; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "now", NULL, 0);
        cr_assert_eq(capture_count(&cap), i + 1);
    }
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.queued, 10);
    cr_assert_eq(st.written, 10);
    msb_log_free(lg);
}

Test(log_queue, stats_size_is_checked_and_honoured)
{
    msb_log_t *lg = small_queue(MSB_LOG_OVERFLOW_DROP, 0);
    cr_assert_eq(msb_log_stats(lg, NULL), MSB_EINVAL);
    msb_log_stats_t st = {.size = 0};
    cr_assert_eq(msb_log_stats(lg, &st), MSB_EINVAL);
    msb_log_write(lg, MSB_LOG_INFO, "x", NULL, 0);
    msb_log_flush(lg, -1);
    /* An older, shorter struct gets only the fields it has. */
    memset(&st, 0xff, sizeof(st));
    st.size = offsetof(msb_log_stats_t, written);
    cr_assert_eq(msb_log_stats(lg, &st), MSB_OK);
    cr_assert_eq(st.queued, 1);
    cr_assert_eq(st.written, UINT64_MAX);
    msb_log_free(lg);
}
