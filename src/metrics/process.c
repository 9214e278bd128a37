/* The process collector (Linux /proc, getrlimit, statvfs) and the build-info metric. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/str.h"
#include "metrics/internal.h"
#include "msb/version.h"

typedef struct proc_opts {
    size_t npaths;
    char **paths;
} proc_opts_t;

typedef struct proc_stat {
    double cpu_seconds;
    double threads;
    double start_seconds;
    double vsize;
    double rss_bytes;
} proc_stat_t;

static msb_status_t read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return MSB_EIO;
    }
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0 ? MSB_OK : MSB_EIO;
}

static double boot_time(void)
{
    char buf[16384];
    if (read_file("/proc/stat", buf, sizeof(buf)) != MSB_OK) {
        return 0;
    }
    const char *p = strstr(buf, "\nbtime ");
    uint64_t v = 0;
    if (p != NULL) {
        p += 7;
        size_t n = strcspn(p, "\n");
        if (msb__parse_u64(p, n, &v) != MSB_OK) {
            v = 0;
        }
    }
    return (double)v;
}

/* Fields of /proc/self/stat after the command name, 1-based as in proc(5) minus 2. */
static msb_status_t read_stat(proc_stat_t *st)
{
    char buf[2048];
    if (read_file("/proc/self/stat", buf, sizeof(buf)) != MSB_OK) {
        return MSB_EIO;
    }
    const char *p = strrchr(buf, ')');
    if (p == NULL) {
        return MSB_EPROTO;
    }
    uint64_t field[25] = {0};
    size_t k = 3; /* p + 2 is field 3 (state) */
    for (p += 2; *p != '\0' && k < MSB_ARRAY_LEN(field); k++) {
        size_t n = strcspn(p, " \n");
        if (msb__parse_u64(p, n, &field[k]) != MSB_OK) {
            field[k] = 0;
        }
        p += n;
        p += *p != '\0' ? 1 : 0;
    }
    double tick = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    st->cpu_seconds = (double)(field[14] + field[15]) / tick;
    st->threads = (double)field[20];
    st->start_seconds = boot_time() + (double)field[22] / tick;
    st->vsize = (double)field[23];
    st->rss_bytes = (double)field[24] * page;
    return MSB_OK;
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return 0;
    }
    double n = 0;
    int self = dirfd(d);
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t fd;
        if (e->d_name[0] != '.' && msb__parse_u64(e->d_name, strlen(e->d_name), &fd) == MSB_OK &&
            fd != (uint64_t)self) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static double limit(int resource)
{
    struct rlimit rl;
    return getrlimit(resource, &rl) == 0 ? (double)rl.rlim_cur : 0;
}

static msb_status_t gauge(msb_metrics_writer_t *w, msb_metric_type_t type, const char *name,
                          const char *help, const char *unit, double v)
{
    msb_status_t rc = msb_metrics_write_family(w, type, name, help, unit, NULL, 0);
    return rc == MSB_OK ? msb_metrics_write_sample(w, NULL, v) : rc;
}

static msb_status_t paths(msb_metrics_writer_t *w, const proc_opts_t *o)
{
    static const char *const names[] = {"msb_data_path_size_bytes", "msb_data_path_free_bytes",
                                        "msb_data_path_avail_bytes", "msb_data_path_files",
                                        "msb_data_path_files_free"};
    static const char *const helps[] = {
        "Size of the file system holding the data path.",
        "Free space on the file system holding the data path.",
        "Space available to unprivileged users on the file system holding the data path.",
        "Inodes of the file system holding the data path.",
        "Free inodes of the file system holding the data path."};
    const char *label[] = {"path"};
    msb_status_t rc = MSB_OK;
    for (size_t m = 0; rc == MSB_OK && m < MSB_ARRAY_LEN(names); m++) {
        rc = msb_metrics_write_family(w, MSB_METRIC_GAUGE, names[m], helps[m],
                                      m < 3 ? "bytes" : NULL, label, 1);
        for (size_t i = 0; rc == MSB_OK && i < o->npaths; i++) {
            struct statvfs vfs;
            if (statvfs(o->paths[i], &vfs) != 0) {
                continue; /* left out of this scrape */
            }
            double fr = (double)vfs.f_frsize;
            double v[] = {(double)vfs.f_blocks * fr, (double)vfs.f_bfree * fr,
                          (double)vfs.f_bavail * fr, (double)vfs.f_files, (double)vfs.f_ffree};
            const char *values[] = {o->paths[i]};
            rc = msb_metrics_write_sample(w, values, v[m]);
        }
    }
    return rc;
}

static msb_status_t collect(msb_metrics_writer_t *w, void *user)
{
    proc_stat_t st;
    msb_status_t rc = read_stat(&st);
    if (rc != MSB_OK) {
        return rc;
    }
    struct {
        msb_metric_type_t type;
        const char *name;
        const char *help;
        const char *unit;
        double v;
    } rows[] = {
        {MSB_METRIC_COUNTER, "process_cpu_seconds_total",
         "Total user and system CPU time spent in seconds.", "seconds", st.cpu_seconds},
        {MSB_METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.",
         "bytes", st.rss_bytes},
        {MSB_METRIC_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "bytes",
         st.vsize},
        {MSB_METRIC_GAUGE, "process_virtual_memory_max_bytes",
         "Maximum amount of virtual memory available in bytes.", "bytes", limit(RLIMIT_AS)},
        {MSB_METRIC_GAUGE, "process_open_fds", "Number of open file descriptors.", NULL,
         open_fds()},
        {MSB_METRIC_GAUGE, "process_max_fds", "Maximum number of open file descriptors.", NULL,
         limit(RLIMIT_NOFILE)},
        {MSB_METRIC_GAUGE, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", "seconds", st.start_seconds},
        {MSB_METRIC_GAUGE, "process_threads", "Number of OS threads in the process.", NULL,
         st.threads},
    };
    for (size_t i = 0; rc == MSB_OK && i < MSB_ARRAY_LEN(rows); i++) {
        rc = gauge(w, rows[i].type, rows[i].name, rows[i].help, rows[i].unit, rows[i].v);
    }
    const proc_opts_t *o = user;
    return rc == MSB_OK && o->npaths > 0 ? paths(w, o) : rc;
}

static void proc_opts_free(void *p)
{
    proc_opts_t *o = p;
    for (size_t i = 0; o != NULL && i < o->npaths; i++) {
        msb__free(o->paths[i]);
    }
    if (o != NULL) {
        msb__free((void *)o->paths);
    }
    msb__free(o);
}

msb_status_t msb_metrics_process_collector_add(msb_metrics_t *reg,
                                               const msb_process_collector_opts_t *opts,
                                               msb_error_t *err)
{
    size_t n = MSB_OPT_HAS(opts, data_path_count) ? opts->data_path_count : 0;
    const char *const *p = MSB_OPT_HAS(opts, data_paths) ? opts->data_paths : NULL;
    if (reg == NULL || (n > 0 && p == NULL)) {
        return msb__err(err, MSB_EINVAL, "metrics: process collector: registry and paths needed");
    }
    proc_opts_t *o = msb__calloc(1, sizeof(*o));
    if (o == NULL || (n > 0 && (o->paths = msb__calloc(n, sizeof(char *))) == NULL)) {
        proc_opts_free(o);
        return msb__err_nomem(err, "the process collector");
    }
    for (size_t i = 0; i < n; i++, o->npaths++) {
        if (p[i] == NULL || msb__label_value_check("process", "path", p[i], NULL) != MSB_OK) {
            proc_opts_free(o);
            return msb__err(err, MSB_EINVAL,
                            "metrics: process collector: data path %zu is "
                            "NULL or not UTF-8",
                            i);
        }
        o->paths[i] = msb__strdup(p[i]);
        if (o->paths[i] == NULL) {
            proc_opts_free(o);
            return msb__err_nomem(err, "a data path");
        }
    }
    msb_metrics_collector_t *c;
    msb_status_t rc = msb_metrics_collector_add(reg, "process", collect, o, &c, err);
    if (rc != MSB_OK) {
        proc_opts_free(o);
        return rc;
    }
    c->free_user = proc_opts_free;
    return MSB_OK;
}

msb_status_t msb_metrics_build_info_add(msb_metrics_t *reg, const msb_metric_label_t *labels,
                                        size_t label_count, msb_error_t *err)
{
    if (reg == NULL || (label_count > 0 && labels == NULL) ||
        label_count + 1 > MSB_METRICS_MAX_LABELS) {
        return msb__err(err, MSB_EINVAL, "metrics: build info: registry and labels needed");
    }
    const char *names[MSB_METRICS_MAX_LABELS];
    const char *values[MSB_METRICS_MAX_LABELS];
    names[0] = "version";
    values[0] = msb_version();
    for (size_t i = 0; i < label_count; i++) {
        names[i + 1] = labels[i].name;
        values[i + 1] = labels[i].value;
    }
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "msb_build_info";
    o.help = "Build information: libmsb's version and the service's labels.";
    o.label_names = names;
    o.label_count = label_count + 1;
    o.max_series = 1;
    msb__family_t *f;
    msb_status_t rc = msb__family_register(reg, MSB_METRIC_INFO, &o, 1, &f, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb__series_t *s;
    rc = msb__family_get(f, values, &s, err);
    if (rc != MSB_OK) {
        msb_metrics_unregister(reg, "msb_build_info", NULL);
    }
    return rc;
}
