/* Parsers of the files the CPU reader uses (pure functions: fuzzed by tests/fuzz/cgroup_cpu.c). */
#include <string.h>

#include "adaptive/cpu.h"
#include "core/str.h"

/* The first whitespace-separated unsigned number at s; false if there is none. */
bool msb__cpu_parse_u64_at(const char *s, uint64_t *out, const char **end)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    const char *e = s;
    while (*e >= '0' && *e <= '9') {
        e++;
    }
    if (e == s || msb__parse_u64(s, (size_t)(e - s), out) != MSB_OK) {
        return false;
    }
    if (end != NULL) {
        *end = e;
    }
    return true;
}

void msb__cpu_parse_cgroups(char *buf, char *v2, size_t v2size, char *v1, size_t v1size)
{
    v2[0] = '\0';
    v1[0] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            continue;
        }
        *c2 = '\0';
        const char *controllers = c1 + 1;
        const char *path = c2 + 1;
        if (strncmp(line, "0:", 2) == 0 && controllers[0] == '\0') {
            msb__strlcpy(v2, path, v2size);
            continue;
        }
        /* v1: the controller list is comma-separated; look for "cpuacct" as an element. */
        const char *end = controllers + strlen(controllers);
        for (const char *p = controllers; p < end;) {
            const char *comma = strchr(p, ',');
            size_t n = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);
            if (n == 7 && strncmp(p, "cpuacct", 7) == 0) {
                msb__strlcpy(v1, path, v1size);
            }
            p += n + 1;
        }
    }
}

bool msb__cpu_parse_max(const char *buf, double *cores)
{
    uint64_t quota, period;
    const char *e;
    if (!msb__cpu_parse_u64_at(buf, &quota, &e) || !msb__cpu_parse_u64_at(e, &period, NULL) ||
        period == 0) {
        return false; /* "max ..." (no limit) or unreadable */
    }
    *cores = (double)quota / (double)period;
    return true;
}

bool msb__cpu_parse_usage(msb_adaptive_cpu_source_t source, const char *buf, uint64_t *usage,
                          uint64_t *total)
{
    if (source == MSB_ADAPTIVE_CPU_CGROUP_V1) {
        return msb__cpu_parse_u64_at(buf, usage, NULL);
    }
    if (source == MSB_ADAPTIVE_CPU_CGROUP_V2) {
        const char *p = strstr(buf, "usage_usec ");
        uint64_t us;
        if (p == NULL || !msb__cpu_parse_u64_at(p + 11, &us, NULL) || us > UINT64_MAX / 1000) {
            return false;
        }
        *usage = us * 1000;
        return true;
    }
    /* /proc/stat: "cpu  user nice system idle iowait irq softirq steal ..." */
    if (source != MSB_ADAPTIVE_CPU_PROC_STAT || strncmp(buf, "cpu ", 4) != 0) {
        return false;
    }
    const char *p = buf + 4;
    uint64_t v[8] = {0}, sum = 0;
    int n = 0;
    while (n < 8 && msb__cpu_parse_u64_at(p, &v[n], &p)) {
        if (v[n] > UINT64_MAX - sum) {
            return false; /* nonsense counters: read nothing */
        }
        sum += v[n];
        n++;
    }
    if (n < 4) {
        return false;
    }
    *total = sum;
    *usage = sum - v[3] - (n > 4 ? v[4] : 0); /* busy: all but idle and iowait */
    return true;
}
