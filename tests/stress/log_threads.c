/*
 * Many threads logging through one file logger (each through its own child), while another
 * thread reopens the file, flips the context hook and reads the counters. Checks that every
 * record is accounted for exactly (lines in the file == written, written + dropped == attempted),
 * that each line is one JSON object, and that each thread's records keep their order.
 * A plain program (Criterion cannot run under TSan): prints "N passed, N failed".
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msb/log.h"

#define THREADS    8
#define PER_THREAD 20000

static int passed;
static int failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

static msb_log_t *root;
static atomic_int stop;

static void *worker(void *arg)
{
    long id = (long)arg;
    msb_log_t *lg;
    if (msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64("thread", id)), &lg, NULL) != MSB_OK) {
        return (void *)1;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "stress",
                      MSB_LOG_FIELDS(MSB_LOG_I64("seq", i), MSB_LOG_STR("s", "quote\" and \\"),
                                     MSB_LOG_F64("d", i * 0.25), MSB_LOG_BOOLEAN("b", i & 1)));
        msb_log_write(lg, MSB_LOG_DEBUG, "filtered", NULL, 0);
    }
    msb_log_free(lg);
    return NULL;
}

static size_t hook(msb_log_field_t *out, size_t max, void *user)
{
    (void)max;
    out[0] = MSB_LOG_STR("trace_id", (const char *)user);
    return 1;
}

static void *control(void *arg)
{
    (void)arg;
    static char trace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
    int i = 0;
    while (!atomic_load(&stop)) {
        msb_log_set_context_hook(i % 2 ? hook : NULL, trace);
        if (i % 16 == 0) {
            msb_log_reopen(root, NULL);
        }
        msb_log_stats_t st = {.size = sizeof(st)};
        msb_log_stats(root, &st);
        msb_log_set_level(root, MSB_LOG_INFO);
        i++;
        usleep(200);
    }
    msb_log_set_context_hook(NULL, NULL);
    return NULL;
}

/* Count the lines of the file, parse each and check per-thread order. */
static long verify_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    long last[THREADS];
    for (int t = 0; t < THREADS; t++) {
        last[t] = -1;
    }
    long lines = 0;
    int bad = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        lines++;
        json_t *j = json_loads(line, 0, NULL);
        long t = j != NULL ? (long)json_integer_value(json_object_get(j, "thread")) : -1;
        long seq = j != NULL ? (long)json_integer_value(json_object_get(j, "seq")) : -1;
        if (t < 0 || t >= THREADS || seq <= last[t]) {
            bad++;
        } else {
            last[t] = seq;
        }
        json_decref(j);
    }
    fclose(f);
    check(bad == 0, "every line is a JSON record in its thread's order");
    return lines;
}

int main(void)
{
    char path[] = "/tmp/msb_log_stress_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    o.path = path;
    o.queue_size = 256 << 10;
    o.buffer_size = 32 << 10;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_log_new(&o, &root, &err) != MSB_OK) {
        fprintf(stderr, "msb_log_new: %s\n0 passed, 1 failed\n", err.message);
        return 1;
    }
    pthread_t th[THREADS];
    pthread_t ctl;
    pthread_create(&ctl, NULL, control, NULL);
    for (long t = 0; t < THREADS; t++) {
        pthread_create(&th[t], NULL, worker, (void *)t);
    }
    int worker_errors = 0;
    for (int t = 0; t < THREADS; t++) {
        void *rv;
        pthread_join(th[t], &rv);
        worker_errors += rv != NULL;
    }
    atomic_store(&stop, 1);
    pthread_join(ctl, NULL);
    check(worker_errors == 0, "every worker made its child logger");
    check(msb_log_flush(root, -1) == MSB_OK, "flush");
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(root, &st);
    msb_log_free(root);

    long attempted = (long)THREADS * PER_THREAD;
    long lines = verify_file(path);
    printf("attempted %ld, queued %llu, written %llu, dropped %llu, lines %ld\n", attempted,
           (unsigned long long)st.queued, (unsigned long long)st.written,
           (unsigned long long)st.dropped, lines);
    check((long)st.written == lines, "lines in the file == written");
    check((long)(st.written + st.dropped) == attempted, "written + dropped == attempted");
    check(st.queued == st.written, "everything queued was written");
    check(st.write_failed == 0 && st.format_failed == 0 && st.bad_fields == 0, "no failures");
    unlink(path);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
