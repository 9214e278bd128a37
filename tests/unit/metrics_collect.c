/* Custom collectors, the process collector (checked against /proc), build info, and failing
 * allocations. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "msb/msb.h"
#include "msb/metrics.h"

static msb_metrics_t *reg;

static void setup(void)
{
    cr_assert_eq(msb_metrics_new(NULL, &reg, NULL), MSB_OK);
}

static void teardown(void)
{
    msb_metrics_free(reg);
}

TestSuite(metrics_collect, .init = setup, .fini = teardown);

static char *render(msb_metrics_format_t f)
{
    char *text;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_render(reg, f, &text, NULL, &err), MSB_OK, "%s", err.message);
    return text;
}

/* The value of the sample line starting with `prefix` (name and labels), or NAN. */
static double sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
    }
    return NAN;
}

static int calls;

static msb_status_t failing(msb_metrics_writer_t *w, void *user)
{
    calls++;
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_GAUGE, "half_written", "h", NULL, NULL, 0),
                 MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, NULL, 1), MSB_OK);
    return *(msb_status_t *)user;
}

Test(metrics_collect, failing_collector_is_dropped_and_counted)
{
    msb_status_t result = MSB_EIO;
    msb_metrics_collector_t *c;
    cr_assert_eq(msb_metrics_collector_add(reg, "pool", failing, &result, &c, NULL), MSB_OK);
    char *t = render(MSB_METRICS_FORMAT_TEXT);
    cr_assert_null(strstr(t, "half_written"));
    cr_assert_eq(sample(t, "msb_metrics_collector_errors_total{collector=\"pool\"}"), 1);
    msb_metrics_text_free(t);
    result = MSB_OK;
    t = render(MSB_METRICS_FORMAT_TEXT);
    cr_assert_eq(sample(t, "half_written"), 1);
    cr_assert_eq(sample(t, "msb_metrics_collector_errors_total{collector=\"pool\"}"), 1);
    msb_metrics_text_free(t);
    msb_metrics_collector_remove(reg, c);
    calls = 0;
    t = render(MSB_METRICS_FORMAT_TEXT);
    cr_assert_eq(calls, 0);
    cr_assert_null(strstr(t, "half_written"));
    msb_metrics_text_free(t);
    msb_metrics_collector_remove(reg, NULL);
}

static msb_status_t misuse(msb_metrics_writer_t *w, void *user)
{
    (void)user;
    const double b2[] = {1, 2};
    const double b3[] = {1, 2, 3};
    const uint64_t counts[] = {1, 1, 1, 1};
    const char *l[] = {"x"};
    /* no family yet */
    cr_assert_eq(msb_metrics_write_sample(w, NULL, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_GAUGE, "bad name", NULL, NULL, NULL, 0),
                 MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_sample(w, NULL, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_family(w, (msb_metric_type_t)99, "t", NULL, NULL, NULL, 0),
                 MSB_EINVAL);
    /* collides with a registered family */
    cr_assert_eq(
        msb_metrics_write_family(w, MSB_METRIC_GAUGE, "registered_total", NULL, NULL, NULL, 0),
        MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_GAUGE, "registered", NULL, NULL, NULL, 0),
                 MSB_EEXIST);
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_COUNTER, "own_total", "o", NULL, l, 1),
                 MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"a"}, -1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"a"}, NAN), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_sample(w, NULL, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"\xff"}, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_sample(w, (const char *[]){"a"}, 2), MSB_OK);
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, b2, counts, 2, 1), MSB_EINVAL);
    /* twice in one scrape */
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_GAUGE, "own", NULL, NULL, NULL, 0),
                 MSB_EEXIST);
    cr_assert_eq(msb_metrics_write_family(w, MSB_METRIC_HISTOGRAM, "h", "h", NULL, NULL, 0),
                 MSB_OK);
    cr_assert_eq(msb_metrics_write_sample(w, NULL, 1), MSB_EINVAL);
    const double bad[] = {2, 1};
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, bad, counts, 2, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, b2, NULL, 2, 1), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, b2, counts, 2, NAN), MSB_EINVAL);
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, b2, counts, 2, 4.5), MSB_OK);
    cr_assert_eq(msb_metrics_write_histogram(w, NULL, b3, counts, 3, 1), MSB_EINVAL,
                 "every series of a family has the same buckets");
    return MSB_OK;
}

Test(metrics_collect, writer_rejects_misuse)
{
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "registered";
    o.help = "r";
    msb_gauge_t *g;
    cr_assert_eq(msb_gauge_new(reg, &o, &g, NULL), MSB_OK);
    cr_assert_eq(msb_metrics_collector_add(reg, "misuse", misuse, NULL, NULL, NULL), MSB_OK);
    char *t = render(MSB_METRICS_FORMAT_TEXT);
    cr_assert_eq(sample(t, "own_total{x=\"a\"}"), 2);
    cr_assert_eq(sample(t, "h_bucket{le=\"2\"}"), 2);
    cr_assert_eq(sample(t, "h_count"), 3);
    cr_assert_eq(sample(t, "h_sum"), 4.5);
    msb_metrics_text_free(t);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_collector_add(reg, NULL, misuse, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_metrics_collector_add(reg, "x", NULL, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_metrics_collector_add(reg, "\xff", misuse, NULL, NULL, &err), MSB_EINVAL);
}

static double proc_stat_field(int field)
{
    FILE *f = fopen("/proc/self/stat", "r");
    cr_assert_not_null(f);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')') + 2;
    for (int i = 3; i < field; i++) {
        p = strchr(p, ' ') + 1;
    }
    return strtod(p, NULL);
}

static double count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    double n = -1; /* the directory's own descriptor */
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

Test(metrics_collect, process_collector_agrees_with_proc)
{
    char dir[] = "/tmp/msb_metrics_data_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *paths[] = {dir, "/nonexistent/msb"};
    msb_process_collector_opts_t po = MSB_PROCESS_COLLECTOR_OPTS_INIT;
    po.data_paths = paths;
    po.data_path_count = 2;
    cr_assert_eq(msb_metrics_process_collector_add(reg, &po, NULL), MSB_OK);
    double fds = count_fds();
    char *t = render(MSB_METRICS_FORMAT_TEXT);
    long tick = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    double cpu = (proc_stat_field(14) + proc_stat_field(15)) / (double)tick;
    cr_assert_float_eq(sample(t, "process_cpu_seconds_total"), cpu, 0.05);
    double rss = proc_stat_field(24) * (double)page;
    cr_assert_float_eq(sample(t, "process_resident_memory_bytes"), rss, rss * 0.2);
    double vsz = proc_stat_field(23);
    cr_assert_float_eq(sample(t, "process_virtual_memory_bytes"), vsz, vsz * 0.2);
    cr_assert_eq(sample(t, "process_threads"), proc_stat_field(20));
    cr_assert_eq(sample(t, "process_open_fds"), fds);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    cr_assert_eq(sample(t, "process_max_fds"), (double)rl.rlim_cur);
    getrlimit(RLIMIT_AS, &rl);
    cr_assert_eq(sample(t, "process_virtual_memory_max_bytes"), (double)rl.rlim_cur);
    double start = sample(t, "process_start_time_seconds");
    double now = (double)time(NULL);
    cr_assert(start > now - 600 && start <= now + 1, "start %f now %f", start, now);
    struct statvfs vfs;
    cr_assert_eq(statvfs(dir, &vfs), 0);
    char key[256];
    snprintf(key, sizeof(key), "msb_data_path_size_bytes{path=\"%s\"}", dir);
    cr_assert_eq(sample(t, key), (double)vfs.f_blocks * (double)vfs.f_frsize);
    snprintf(key, sizeof(key), "msb_data_path_files{path=\"%s\"}", dir);
    cr_assert_eq(sample(t, key), (double)vfs.f_files);
    snprintf(key, sizeof(key), "msb_data_path_avail_bytes{path=\"%s\"}", dir);
    cr_assert(sample(t, key) > 0);
    cr_assert_null(strstr(t, "/nonexistent/msb"), "an unreadable path is left out");
    msb_metrics_text_free(t);
    t = render(MSB_METRICS_FORMAT_OPENMETRICS);
    cr_assert_not_null(strstr(t, "# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds "
                                 "seconds\nprocess_cpu_seconds_total "));
    msb_metrics_text_free(t);
    rmdir(dir);
    msb_error_t err = MSB_ERROR_INIT;
    po.data_paths = NULL;
    cr_assert_eq(msb_metrics_process_collector_add(reg, &po, &err), MSB_EINVAL);
    const char *nullpath[] = {NULL};
    po.data_paths = nullpath;
    po.data_path_count = 1;
    cr_assert_eq(msb_metrics_process_collector_add(reg, &po, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "metrics: process collector: data path 0 is NULL or not UTF-8");
}

Test(metrics_collect, build_info)
{
    msb_metric_label_t l[] = {{"service", "orders"}, {"commit", "abc123"}};
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_build_info_add(reg, l, 2, &err), MSB_OK, "%s", err.message);
    char *t = render(MSB_METRICS_FORMAT_TEXT);
    char want[256];
    snprintf(want, sizeof(want),
             "msb_build_info{version=\"%s\",service=\"orders\",commit=\"abc123\"}", msb_version());
    cr_assert_eq(sample(t, want), 1);
    msb_metrics_text_free(t);
    cr_assert_eq(msb_metrics_build_info_add(reg, NULL, 0, &err), MSB_EEXIST);
    msb_metric_label_t bad[] = {{"le", "x"}};
    msb_metrics_unregister(reg, "msb_build_info", NULL);
    cr_assert_eq(msb_metrics_build_info_add(reg, bad, 1, &err), MSB_EINVAL);
    cr_assert_eq(msb_metrics_build_info_add(reg, NULL, 1, &err), MSB_EINVAL);
}

/* ---- failing allocations ----------------------------------------------------------------- */

static long fail_at = -1; /* fail the Nth allocation from now; -1: never */
static long allocs;

static void *t_malloc(size_t n, void *u)
{
    (void)u;
    if (fail_at >= 0 && allocs++ == fail_at) {
        return NULL;
    }
    return malloc(n);
}

static void *t_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (fail_at >= 0 && allocs++ == fail_at) {
        return NULL;
    }
    return realloc(p, n);
}

static void t_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static msb_status_t scenario(void)
{
    msb_metrics_t *r;
    msb_status_t rc = msb_metrics_new(NULL, &r, NULL);
    if (rc != MSB_OK) {
        return rc;
    }
    const char *names[] = {"k"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "oom_seconds";
    o.help = "h";
    o.label_names = names;
    o.label_count = 1;
    msb_histogram_vec_t *v;
    msb_histogram_t *h;
    char *text = NULL;
    msb_exemplar_t ex = {.trace_id = "t"};
    rc = msb_histogram_vec_new(r, &o, &v, NULL);
    for (int i = 0; rc == MSB_OK && i < 40; i++) {
        char k[16];
        snprintf(k, sizeof(k), "v%d", i);
        rc = msb_histogram_vec_get(v, (const char *[]){k}, &h, NULL);
        if (rc == MSB_OK) {
            rc = msb_histogram_observe_exemplar(h, 0.1 * i, &ex, NULL);
        }
    }
    if (rc == MSB_OK) {
        rc = msb_histogram_vec_remove(v, (const char *[]){"v3"});
    }
    if (rc == MSB_OK) {
        rc = msb_metrics_build_info_add(r, NULL, 0, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_metrics_process_collector_add(r, NULL, NULL);
    }
    for (int f = 0; rc == MSB_OK && f < 3; f++) {
        text = NULL;
        rc = msb_metrics_render(r, (msb_metrics_format_t)f, &text, NULL, NULL);
        msb_metrics_text_free(text);
    }
    msb_metrics_free(r);
    return rc;
}

Test(metrics_collect, every_allocation_failure_is_reported)
{
    msb_allocator_t a = {t_malloc, t_realloc, t_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    int failures = 0;
    for (long n = 0;; n++) {
        allocs = 0;
        fail_at = n;
        msb_status_t rc = scenario();
        if (allocs <= n) {
            cr_assert_eq(rc, MSB_OK);
            break; /* the Nth allocation was never reached: every one has failed once */
        }
        /* MSB_OK where the failure has a fallback (a thread's cell block: the shared cells) */
        cr_assert(rc == MSB_ENOMEM || rc == MSB_OK, "allocation %ld: %s", n, msb_status_name(rc));
        failures += rc == MSB_ENOMEM;
    }
    fail_at = -1;
    cr_assert_gt(failures, 50);
    msb_set_allocator(NULL);
}
