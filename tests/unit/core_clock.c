#include <criterion/criterion.h>
#include <time.h>

#include "msb/msb.h"

Test(core_clock, real_clock_is_monotonic_and_near_wall_time)
{
    const msb_clock_t *c = msb_clock_real();
    uint64_t a = msb_clock_monotonic_ns(c);
    uint64_t b = msb_clock_monotonic_ns(c);
    cr_assert_geq(b, a);
    int64_t wall = msb_clock_realtime_ns(NULL);
    cr_assert_lt(llabs(wall / MSB_SEC - (int64_t)time(NULL)), 2);
}

Test(core_clock, coarse_clock_tracks_real_within_a_tick)
{
    uint64_t precise = msb_clock_monotonic_ns(msb_clock_real());
    uint64_t coarse = msb_clock_monotonic_ns(msb_clock_coarse());
    int64_t diff = (int64_t)(precise - coarse);
    cr_assert_lt(llabs(diff), 50 * MSB_MSEC, "coarse clock %ld ns away", (long)diff);
}

Test(core_clock, manual_clock_moves_only_when_told)
{
    msb_clock_t *c = NULL;
    cr_assert_eq(msb_clock_manual_new(1000, 5 * MSB_SEC, &c), MSB_OK);
    cr_assert_eq(msb_clock_monotonic_ns(c), 1000);
    cr_assert_eq(msb_clock_realtime_ns(c), 5 * MSB_SEC);
    msb_clock_manual_advance(c, 500);
    cr_assert_eq(msb_clock_monotonic_ns(c), 1500);
    cr_assert_eq(msb_clock_realtime_ns(c), 5 * MSB_SEC + 500);
    msb_clock_manual_set(c, 100, 7); /* monotonic never goes back */
    cr_assert_eq(msb_clock_monotonic_ns(c), 1500);
    cr_assert_eq(msb_clock_realtime_ns(c), 7);
    msb_clock_manual_set(c, 9000, 8);
    cr_assert_eq(msb_clock_monotonic_ns(c), 9000);
    msb_clock_manual_free(c);
    msb_clock_manual_free(NULL);
}
