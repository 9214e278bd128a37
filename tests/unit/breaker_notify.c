/* Breaker state-change notices: order, re-entrancy, no lock held; and the throttle. */
#include <criterion/criterion.h>
#include <math.h>

#include "msb/breaker.h"
#include "msb/clock.h"

static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(breaker_notify, .init = setup, .fini = teardown);

typedef struct seen {
    int n;
    msb_breaker_state_t from[16], to[16];
    bool reenter; /* the callback moves the breaker again from inside */
    int depth, max_depth;
} seen_t;

static void on_change(msb_breaker_t *b, msb_breaker_state_t from, msb_breaker_state_t to,
                      void *user)
{
    seen_t *s = user;
    s->depth++;
    if (s->depth > s->max_depth) {
        s->max_depth = s->depth;
    }
    if (s->n < 16) {
        s->from[s->n] = from;
        s->to[s->n] = to;
    }
    s->n++;
    /* No lock is held: reading the breaker from here works. */
    msb_breaker_stats_t st = {.size = sizeof(st)};
    msb_breaker_stats(b, &st);
    if (s->reenter && to == MSB_BREAKER_OPEN) {
        msb_breaker_transition(b, MSB_BREAKER_FORCED_OPEN, NULL);
    }
    s->depth--;
}

static msb_breaker_t *make(seen_t *s)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.clock = clk;
    o.window_size = 1;
    o.minimum_calls = 1;
    o.open_wait_ns = MSB_SEC;
    o.half_open_calls = 1;
    o.on_state_change = on_change;
    o.user = s;
    msb_breaker_t *b = NULL;
    cr_assert_eq(msb_breaker_new(&o, &b, NULL), MSB_OK);
    return b;
}

static void call(msb_breaker_t *b, msb_breaker_outcome_t out)
{
    msb_breaker_permit_t p;
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_breaker_record(b, &p, out);
}

Test(breaker_notify, every_transition_in_order)
{
    seen_t s = {0};
    msb_breaker_t *b = make(&s);
    call(b, MSB_BREAKER_FAILURE);           /* closed -> open */
    msb_clock_manual_advance(clk, MSB_SEC); /* next acquire: open -> half-open */
    call(b, MSB_BREAKER_FAILURE);           /* half-open -> open */
    msb_clock_manual_advance(clk, MSB_SEC);
    call(b, MSB_BREAKER_SUCCESS); /* open -> half-open -> closed */
    const msb_breaker_state_t from[] = {MSB_BREAKER_CLOSED, MSB_BREAKER_OPEN, MSB_BREAKER_HALF_OPEN,
                                        MSB_BREAKER_OPEN, MSB_BREAKER_HALF_OPEN};
    const msb_breaker_state_t to[] = {MSB_BREAKER_OPEN, MSB_BREAKER_HALF_OPEN, MSB_BREAKER_OPEN,
                                      MSB_BREAKER_HALF_OPEN, MSB_BREAKER_CLOSED};
    cr_assert_eq(s.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(s.from[i], from[i], "notice %d", i);
        cr_assert_eq(s.to[i], to[i], "notice %d", i);
    }
    msb_breaker_stats_t st = {.size = sizeof(st)};
    msb_breaker_stats(b, &st);
    cr_assert_eq(st.transitions, 5);
    cr_assert_eq(st.opened, 2);
    msb_breaker_free(b);
}

Test(breaker_notify, a_transition_from_the_callback_is_delivered_after_it)
{
    seen_t s = {.reenter = true};
    msb_breaker_t *b = make(&s);
    call(b, MSB_BREAKER_FAILURE);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.max_depth, 1, "notices are not nested");
    cr_assert_eq(s.to[0], MSB_BREAKER_OPEN);
    cr_assert_eq(s.from[1], MSB_BREAKER_OPEN);
    cr_assert_eq(s.to[1], MSB_BREAKER_FORCED_OPEN);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_FORCED_OPEN);
    msb_breaker_free(b);
}

Test(breaker_notify, moving_to_the_current_state_is_silent)
{
    seen_t s = {0};
    msb_breaker_t *b = make(&s);
    cr_assert_eq(msb_breaker_transition(b, MSB_BREAKER_CLOSED, NULL), MSB_OK);
    cr_assert_eq(s.n, 0);
    msb_breaker_free(b);
}

/* ---- throttle ---- */

static msb_throttle_t *throttle(double k, uint32_t min_requests)
{
    msb_throttle_opts_t o = MSB_THROTTLE_OPTS_INIT;
    o.clock = clk;
    o.k = k;
    o.min_requests = min_requests;
    msb_throttle_t *t = NULL;
    cr_assert_eq(msb_throttle_new(&o, &t, NULL), MSB_OK);
    return t;
}

Test(breaker_notify, throttle_never_rejects_while_accepts_keep_up)
{
    /* With every request accepted, p = (2 - req) / (req + 1) <= 0 from the second request on
     * (the first has p = 1/2 by the formula: min_requests exists for that). */
    msb_throttle_t *t = throttle(2.0, 2);
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(msb_throttle_acquire(t), MSB_OK);
        msb_throttle_record(t, true);
    }
    msb_throttle_stats_t s = {.size = sizeof(s)};
    msb_throttle_stats(t, &s);
    cr_assert_eq(s.rejected, 0);
    cr_assert_eq(s.requests, 10000);
    cr_assert_eq(s.accepts, 10000);
    msb_throttle_free(t);
}

Test(breaker_notify, throttle_respects_min_requests)
{
    msb_throttle_t *t = throttle(2.0, 1001);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(msb_throttle_acquire(t), MSB_OK, "request %d", i);
    }
    msb_throttle_stats_t s = {.size = sizeof(s)};
    msb_throttle_stats(t, &s);
    cr_assert_eq(s.window_requests, 1000);
    cr_assert_eq(s.reject_probability, 0.0, "one request under min_requests");
    msb_throttle_free(t);
}

Test(breaker_notify, throttle_rejects_with_the_books_probability)
{
    msb_throttle_t *t = throttle(2.0, 2);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(msb_throttle_acquire(t), MSB_OK); /* accepts keep p below 0 */
        msb_throttle_record(t, true);
    }
    for (int i = 0; i < 900; i++) {
        msb_throttle_acquire(t); /* refused by the backend, or rejected here */
    }
    msb_throttle_stats_t s = {.size = sizeof(s)};
    msb_throttle_stats(t, &s);
    cr_assert_eq(s.window_requests, 1000);
    cr_assert_eq(s.window_accepts, 100);
    cr_assert_float_eq(s.reject_probability, (1000.0 - 2.0 * 100.0) / 1001.0, 1e-12);
    /* Each further request is rejected with p = (req - 200) / (req + 1), req counting itself. */
    const int n = 20000;
    int rejected = 0;
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) {
        double req = 1000.0 + i + 1;
        double p = (req - 200.0) / (req + 1.0);
        mean += p;
        var += p * (1 - p);
        if (msb_throttle_acquire(t) == MSB_EREJECTED) {
            rejected++;
        }
    }
    /* Binomial-like: 10 standard deviations of room (sd ~ 30) never fails by chance. */
    cr_assert(fabs(rejected - mean) < 10 * sqrt(var), "rejected %d, expected %.0f +- %.0f",
              rejected, mean, sqrt(var));
    msb_throttle_free(t);
}

Test(breaker_notify, throttle_forgets_with_the_window)
{
    msb_throttle_t *t = throttle(2.0, 2);
    for (int i = 0; i < 1000; i++) {
        msb_throttle_acquire(t);
        msb_throttle_record(t, false);
    }
    msb_throttle_stats_t s = {.size = sizeof(s)};
    msb_throttle_stats(t, &s);
    cr_assert_gt(s.reject_probability, 0.99);
    msb_clock_manual_advance(clk, 10 * MSB_SEC);
    msb_throttle_stats(t, &s);
    cr_assert_eq(s.window_requests, 0);
    cr_assert_eq(s.reject_probability, 0.0);
    cr_assert_eq(msb_throttle_acquire(t), MSB_OK);
    msb_throttle_free(t);
}
