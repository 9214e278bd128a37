/*
 * Many threads increment and observe while another scrapes, and another adds and removes series
 * of the same families; writers come in two waves so that the second adopts the per-thread cells
 * of the first. At the end every total must add up exactly, and every scrape taken during the
 * run must be consistent (histogram count equal to its +Inf bucket, cumulative buckets never
 * decreasing, counters never going down between scrapes).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msb/msb.h"
#include "msb/metrics.h"

enum { WRITERS = 6, WAVES = 2, ITERS = 100000, KEYS = 8 };

static msb_metrics_t *reg;
static msb_counter_t *plain;
static msb_counter_vec_t *by_key;
static msb_histogram_t *latency;
static msb_gauge_t *inflight;
static msb_counter_vec_t *churn;
static atomic_int stop;
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

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char key[16];
    snprintf(key, sizeof(key), "k%d", id % KEYS);
    msb_counter_t *cached;
    if (msb_counter_vec_get(by_key, (const char *[]){key}, &cached, NULL) != MSB_OK) {
        abort();
    }
    static const double obs[] = {0.5, 1, 2, 100};
    for (int i = 0; i < ITERS; i++) {
        msb_counter_inc(plain);
        msb_counter_inc(cached);
        msb_counter_t *c;
        snprintf(key, sizeof(key), "k%d", i % KEYS);
        if (msb_counter_vec_get(by_key, (const char *[]){key}, &c, NULL) != MSB_OK) {
            abort();
        }
        msb_counter_add(c, 2);
        msb_gauge_inc(inflight);
        if (i % 1000 == 0) {
            msb_exemplar_t ex = {.trace_id = "0123456789abcdef0123456789abcdef"};
            msb_histogram_observe_exemplar(latency, obs[i % 4], &ex, NULL);
        } else {
            msb_histogram_observe(latency, obs[i % 4]);
        }
        msb_gauge_dec(inflight);
    }
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    char key[32];
    for (int round = 0; !atomic_load(&stop); round++) {
        for (int i = 0; i < 64; i++) {
            msb_counter_t *c;
            snprintf(key, sizeof(key), "r%d-%d", round % 4, i);
            if (msb_counter_vec_get(churn, (const char *[]){key}, &c, NULL) == MSB_OK) {
                msb_counter_inc(c);
            }
        }
        for (int i = 0; i < 64; i++) {
            snprintf(key, sizeof(key), "r%d-%d", round % 4, i);
            msb_counter_vec_remove(churn, (const char *[]){key});
        }
    }
    return NULL;
}

/* Readers of the churned family: lookups of a stable series while the table changes. */
static void *churn_reader(void *arg)
{
    (void)arg;
    long n = 0;
    while (!atomic_load(&stop)) {
        msb_counter_t *c;
        if (msb_counter_vec_get(churn, (const char *[]){"stable"}, &c, NULL) == MSB_OK) {
            msb_counter_inc(c);
            n++;
        }
    }
    return (void *)n;
}

static unsigned long long value_after(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    return p != NULL ? strtoull(p + strlen(prefix), NULL, 10) : 0;
}

static void *scraper(void *arg)
{
    (void)arg;
    unsigned long long last = 0;
    int scrapes = 0;
    int bad = 0;
    while (!atomic_load(&stop) || scrapes < 3) {
        for (int f = 0; f < 3; f++) {
            char *text;
            if (msb_metrics_render(reg, (msb_metrics_format_t)f, &text, NULL, NULL) != MSB_OK) {
                bad++;
                continue;
            }
            if (f == MSB_METRICS_FORMAT_TEXT) {
                unsigned long long cnt = value_after(text, "\nlatency_seconds_count ");
                unsigned long long inf = value_after(text, "latency_seconds_bucket{le=\"+Inf\"} ");
                unsigned long long b1 = value_after(text, "latency_seconds_bucket{le=\"1\"} ");
                unsigned long long b2 = value_after(text, "latency_seconds_bucket{le=\"2\"} ");
                unsigned long long total = value_after(text, "\nplain_total ");
                bad += cnt != inf || b1 > b2 || b2 > inf || total < last;
                last = total;
            }
            free(text);
        }
        scrapes++;
    }
    check(bad == 0, "every scrape during the run was consistent");
    check(scrapes >= 3, "the scraper ran");
    return NULL;
}

static msb_metric_opts_t opts(const char *name, const char *const *labels, size_t n)
{
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = name;
    o.help = "stress";
    o.label_names = labels;
    o.label_count = n;
    return o;
}

int main(void)
{
    const char *key[] = {"key"};
    const double bounds[] = {0.5, 1, 2};
    msb_metric_opts_t o;
    int ok = msb_metrics_new(NULL, &reg, NULL) == MSB_OK;
    o = opts("plain_total", NULL, 0);
    ok = ok && msb_counter_new(reg, &o, &plain, NULL) == MSB_OK;
    o = opts("by_key_total", key, 1);
    ok = ok && msb_counter_vec_new(reg, &o, &by_key, NULL) == MSB_OK;
    o = opts("churn_total", key, 1);
    ok = ok && msb_counter_vec_new(reg, &o, &churn, NULL) == MSB_OK;
    o = opts("latency_seconds", NULL, 0);
    o.buckets = bounds;
    o.bucket_count = 3;
    ok = ok && msb_histogram_new(reg, &o, &latency, NULL) == MSB_OK;
    o = opts("inflight", NULL, 0);
    ok = ok && msb_gauge_new(reg, &o, &inflight, NULL) == MSB_OK;
    ok = ok && msb_metrics_process_collector_add(reg, NULL, NULL) == MSB_OK;
    check(ok, "set-up");
    if (!ok) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    pthread_t scr;
    pthread_t ch;
    pthread_t rd[2];
    pthread_create(&scr, NULL, scraper, NULL);
    pthread_create(&ch, NULL, churner, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_create(&rd[i], NULL, churn_reader, NULL);
    }
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_t w[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            pthread_create(&w[i], NULL, writer, (void *)(intptr_t)(wave * WRITERS + i));
        }
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(w[i], NULL);
        }
    }
    atomic_store(&stop, 1);
    pthread_join(scr, NULL);
    pthread_join(ch, NULL);
    long reads = 0;
    for (int i = 0; i < 2; i++) {
        void *n;
        pthread_join(rd[i], &n);
        reads += (long)n;
    }

    const uint64_t n = (uint64_t)WAVES * WRITERS * ITERS;
    check(msb_counter_value(plain) == (double)n, "plain counter total");
    double keyed = 0;
    for (int k = 0; k < KEYS; k++) {
        char name[16];
        snprintf(name, sizeof(name), "k%d", k);
        msb_counter_t *c;
        msb_counter_vec_get(by_key, (const char *[]){name}, &c, NULL);
        keyed += msb_counter_value(c);
    }
    check(keyed == (double)(3 * n), "labelled counter totals (cached and looked up)");
    check(msb_histogram_count(latency) == n, "histogram count");
    check(msb_histogram_sum(latency) == (double)n / 4 * (0.5 + 1 + 2 + 100), "histogram sum");
    check(msb_gauge_value(inflight) == 0, "gauge back to zero");
    msb_counter_t *stable;
    msb_counter_vec_get(churn, (const char *[]){"stable"}, &stable, NULL);
    check(msb_counter_value(stable) == (double)reads, "lookups during churn all counted");
    char *text;
    check(msb_metrics_render(reg, MSB_METRICS_FORMAT_TEXT, &text, NULL, NULL) == MSB_OK,
          "final render");
    char want[128];
    snprintf(want, sizeof(want), "latency_seconds_bucket{le=\"0.5\"} %" PRIu64 "\n", n / 4);
    check(strstr(text, want) != NULL, "bucket le=0.5 exact");
    snprintf(want, sizeof(want), "latency_seconds_bucket{le=\"2\"} %" PRIu64 "\n", 3 * n / 4);
    check(strstr(text, want) != NULL, "bucket le=2 exact");
    msb_metrics_text_free(text);
    msb_metrics_free(reg);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
