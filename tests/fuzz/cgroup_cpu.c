/*
 * Fuzz target for the load shedder's readers of /proc/self/cgroup, cpu.max, cpu.stat,
 * cpuacct.usage and /proc/stat (src/adaptive/cpu_parse.c): files an operator or a container
 * runtime controls. Properties: no crash or overread; paths come back NUL-terminated within their
 * buffers; a parsed cpu.max is a finite, non-negative number of cores; /proc/stat's busy time
 * never exceeds its total.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';

    double cores;
    if (msb__cpu_parse_max(buf, &cores) && !(cores >= 0 && isfinite(cores))) {
        abort();
    }
    uint64_t usage = 0, total = 0;
    if (msb__cpu_parse_usage(MSB_ADAPTIVE_CPU_PROC_STAT, buf, &usage, &total) && usage > total) {
        abort();
    }
    msb__cpu_parse_usage(MSB_ADAPTIVE_CPU_CGROUP_V2, buf, &usage, &total);
    msb__cpu_parse_usage(MSB_ADAPTIVE_CPU_CGROUP_V1, buf, &usage, &total);
    const char *end = NULL;
    uint64_t v;
    if (msb__cpu_parse_u64_at(buf, &v, &end) && (end <= buf || end > buf + size)) {
        abort();
    }

    char v2[16], v1[16]; /* small, to exercise truncation */
    msb__cpu_parse_cgroups(buf, v2, sizeof(v2), v1, sizeof(v1));
    if (memchr(v2, '\0', sizeof(v2)) == NULL || memchr(v1, '\0', sizeof(v1)) == NULL) {
        abort();
    }
    free(buf);
    return 0;
}
