/*
 * libmsb side of ./bench/run log: N records of one message with six typed fields, written to a
 * file through the logger's buffered file sink, from T threads. Prints one line:
 *   elapsed_ns=<ns> queued=<n> written=<n> dropped=<n>
 * The clock runs from the first record to the return of msb_log_free(), which writes everything
 * still queued and closes the file, so only records that reached the file are timed.
 * Usage: bench_log PATH RECORDS THREADS BUFFER_BYTES
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "msb/log.h"

static msb_log_t *lg;
static long per_thread;

static void *work(void *arg)
{
    (void)arg;
    for (long i = 0; i < per_thread; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "request handled",
                      MSB_LOG_FIELDS(MSB_LOG_STR("method", "GET"),
                                     MSB_LOG_STR("path", "/api/v1/orders/12345"),
                                     MSB_LOG_I64("status", 200), MSB_LOG_I64("bytes", i),
                                     MSB_LOG_F64("latency_ms", (double)(i % 1000) * 0.013),
                                     MSB_LOG_BOOLEAN("cached", i & 1)));
    }
    return NULL;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PATH RECORDS THREADS BUFFER_BYTES\n", argv[0]);
        return 2;
    }
    long records = strtol(argv[2], NULL, 10);
    int threads = (int)strtol(argv[3], NULL, 10);
    size_t buffer = (size_t)strtol(argv[4], NULL, 10);
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.service = "bench";
    o.sink = MSB_LOG_SINK_FILE;
    o.path = argv[1];
    o.buffer_size = buffer;
    o.queue_size = 4 * buffer;
    o.flush_interval_ms = 1000;
    o.overflow = MSB_LOG_OVERFLOW_BLOCK; /* like zap: every record reaches the file */
    o.block_timeout_ms = 60000;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_log_new(&o, &lg, &err) != MSB_OK) {
        fprintf(stderr, "msb_log_new: %s\n", err.message);
        return 1;
    }
    per_thread = records / threads;
    pthread_t th[64];
    int64_t t0 = now_ns();
    for (int t = 0; t < threads; t++) {
        pthread_create(&th[t], NULL, work, NULL);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
    }
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_flush(lg, -1);
    msb_log_stats(lg, &st);
    msb_log_free(lg);
    int64_t elapsed = now_ns() - t0;
    printf("elapsed_ns=%lld queued=%llu written=%llu dropped=%llu\n", (long long)elapsed,
           (unsigned long long)st.queued, (unsigned long long)st.written,
           (unsigned long long)st.dropped);
    return 0;
}
