/* The shedder's CPU readers on fake cgroup and proc trees (and once on the real system). */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msb/adaptive.h"
#include "msb/clock.h"

static msb_clock_t *clk;
static char root[256];

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
    snprintf(root, sizeof(root), "/tmp/msb-cpu-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
    msb_clock_manual_free(clk);
}

TestSuite(adaptive_cpu, .init = setup, .fini = teardown);

/* Write `text` to root/rel, creating the directories on the way. */
static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static msb_adaptive_shedder_t *make(void)
{
    char cg[300], proc[300];
    snprintf(cg, sizeof(cg), "%s/cgroup", root);
    snprintf(proc, sizeof(proc), "%s/proc", root);
    msb_adaptive_shedder_opts_t o = MSB_ADAPTIVE_SHEDDER_OPTS_INIT;
    o.clock = clk;
    o.cgroup_root = cg;
    o.proc_root = proc;
    msb_adaptive_shedder_t *s = NULL;
    cr_assert_eq(msb_adaptive_shedder_new(&o, &s, NULL), MSB_OK);
    return s;
}

static msb_adaptive_shedder_stats_t stats(msb_adaptive_shedder_t *s)
{
    msb_adaptive_shedder_stats_t st = {.size = sizeof(st)};
    msb_adaptive_shedder_stats(s, &st);
    return st;
}

static double cores(void)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    return CPU_COUNT(&set);
}

Test(adaptive_cpu, cgroup_v2_against_its_cpu_max)
{
    put("proc/self/cgroup", "0::/svc\n");
    put("cgroup/svc/cpu.max", "50000 100000\n"); /* half a core */
    put("cgroup/svc/cpu.stat", "usage_usec 1000000\nuser_usec 1\nsystem_usec 2\n");
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CGROUP_V2);
    cr_assert_float_eq(st.cpu_limit_cores, 0.5, 1e-9);
    cr_assert_eq(st.cpu_permille, 0, "one reading is only a baseline");
    /* 125 ms of CPU in 250 ms against half a core: 100 %. The first use is taken as it is. */
    put("cgroup/svc/cpu.stat", "usage_usec 1125000\n");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC);
    cr_assert_eq(stats(s).cpu_permille, 1000);
    /* Then 50 %: smoothed with beta 0.95 -> 975. */
    put("cgroup/svc/cpu.stat", "usage_usec 1187500\n");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC);
    cr_assert_eq(stats(s).cpu_permille, 975);
    /* Not sampled again before the interval has passed. */
    put("cgroup/svc/cpu.stat", "usage_usec 9187500\n");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC - 1);
    cr_assert_eq(stats(s).cpu_permille, 975);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, cgroup_v2_takes_the_tightest_ancestor)
{
    put("proc/self/cgroup", "0::/a/b\n");
    put("cgroup/a/cpu.max", "150000 100000\n");
    put("cgroup/a/b/cpu.max", "max 100000\n");
    put("cgroup/a/b/cpu.stat", "usage_usec 0\n");
    msb_adaptive_shedder_t *s = make();
    cr_assert_float_eq(stats(s).cpu_limit_cores, 1.5, 1e-9);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, cgroup_v2_without_a_limit_uses_the_cores)
{
    put("proc/self/cgroup", "0::/\n");
    put("cgroup/cpu.stat", "usage_usec 0\n");
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CGROUP_V2);
    cr_assert_float_eq(st.cpu_limit_cores, cores(), 1e-9);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, cgroup_v2_in_a_namespace_reads_the_root)
{
    put("proc/self/cgroup", "0::/kubepods/pod1/c1\n"); /* not mounted here: a namespace */
    put("cgroup/cpu.max", "200000 100000\n");
    put("cgroup/cpu.stat", "usage_usec 5\n");
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CGROUP_V2);
    cr_assert_float_eq(st.cpu_limit_cores, 2.0, 1e-9);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, cgroup_v1_quota)
{
    put("proc/self/cgroup", "4:memory:/grp\n3:cpu,cpuacct:/grp\n0::/\n");
    put("cgroup/cpu,cpuacct/grp/cpuacct.usage", "1000000000\n");
    put("cgroup/cpu,cpuacct/grp/cpu.cfs_quota_us", "200000\n");
    put("cgroup/cpu,cpuacct/grp/cpu.cfs_period_us", "100000\n");
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CGROUP_V1);
    cr_assert_float_eq(st.cpu_limit_cores, 2.0, 1e-9);
    /* 300 ms of CPU in 250 ms against 2 cores: 60 %. */
    put("cgroup/cpu,cpuacct/grp/cpuacct.usage", "1300000000\n");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC);
    cr_assert_eq(stats(s).cpu_permille, 600);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, cgroup_v1_unlimited_uses_the_cores)
{
    put("proc/self/cgroup", "2:cpuacct:/\n1:cpu:/\n");
    put("cgroup/cpuacct/cpuacct.usage", "7\n");
    put("cgroup/cpu/cpu.cfs_quota_us", "-1\n");
    put("cgroup/cpu/cpu.cfs_period_us", "100000\n");
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CGROUP_V1);
    cr_assert_float_eq(st.cpu_limit_cores, cores(), 1e-9);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, proc_stat_without_cgroups)
{
    put("proc/self/cgroup", "0::/gone\n");
    put("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n");
    msb_adaptive_shedder_t *s = make();
    cr_assert_eq(stats(s).source, MSB_ADAPTIVE_CPU_PROC_STAT);
    /* busy +200 of +800 ticks: 25 % */
    put("proc/stat", "cpu  200 0 200 1300 100 0 0 0 0 0\n");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC);
    cr_assert_eq(stats(s).cpu_permille, 250);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, nothing_readable_never_sheds)
{
    msb_adaptive_shedder_t *s = make();
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_NONE);
    cr_assert_eq(st.cpu_permille, 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
    }
    for (int i = 0; i < 100; i++) {
        msb_adaptive_shedder_release(s, MSB_MSEC, MSB_ADAPTIVE_SUCCESS);
    }
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, garbage_files_read_as_nothing)
{
    put("proc/self/cgroup", "0::/svc\n");
    put("cgroup/svc/cpu.max", "lots\n");
    put("cgroup/svc/cpu.stat", "no usage here\n");
    msb_adaptive_shedder_t *s = make();
    cr_assert_float_eq(stats(s).cpu_limit_cores, cores(), 1e-9, "an unreadable cpu.max: none");
    msb_clock_manual_advance(clk, 250 * MSB_MSEC);
    cr_assert_eq(stats(s).cpu_permille, 0);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_cpu, the_real_system_has_a_source)
{
    msb_adaptive_shedder_t *s = NULL;
    cr_assert_eq(msb_adaptive_shedder_new(NULL, &s, NULL), MSB_OK);
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_neq(st.source, MSB_ADAPTIVE_CPU_NONE);
    cr_assert_neq(st.source, MSB_ADAPTIVE_CPU_CALLBACK);
    cr_assert_gt(st.cpu_limit_cores, 0.0);
    cr_assert_leq(st.cpu_permille, 1000);
    msb_adaptive_shedder_free(s);
}
