/* msb_retry_run(): the blocking helper, its errors and its cancellation. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "msb/clock.h"
#include "msb/retry.h"

static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(retry_run, .init = setup, .fini = teardown);

typedef struct script {
    int fail_first;                        /* attempts that fail before one succeeds */
    msb_status_t status;                   /* how they fail */
    uint64_t retry_after;                  /* feedback given with each failure */
    int attempts;                          /* attempts seen */
    uint64_t slept;                        /* total sleep asked of the hook */
    msb_retry_cancel_t *cancel_on_attempt; /* cancel during this attempt's run */
} script_t;

static msb_status_t attempt(uint32_t n, msb_retry_feedback_t *fb, void *user)
{
    script_t *s = user;
    s->attempts++;
    cr_assert_eq(n, (uint32_t)s->attempts);
    cr_assert_null(fb->detail);
    cr_assert_eq(fb->retry_after_ns, 0);
    if (s->cancel_on_attempt != NULL) {
        msb_retry_cancel(s->cancel_on_attempt);
    }
    if (s->attempts <= s->fail_first) {
        fb->retry_after_ns = s->retry_after;
        return s->status;
    }
    return MSB_OK;
}

static void fake_sleep(uint64_t ns, void *user)
{
    ((script_t *)user)->slept += ns;
    msb_clock_manual_advance(clk, ns);
}

static msb_retry_t *policy(script_t *s, uint32_t attempts)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.max_attempts = attempts;
    o.jitter = MSB_RETRY_JITTER_NONE;
    o.sleep = fake_sleep;
    o.sleep_user = s;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    return r;
}

Test(retry_run, retries_until_success)
{
    script_t s = {.fail_first = 2, .status = MSB_EUNAVAIL};
    msb_retry_t *r = policy(&s, 5);
    msb_retry_verdict_t v;
    cr_assert_eq(msb_retry_run(r, attempt, &s, NULL, &v, NULL), MSB_OK);
    cr_assert_eq(v, MSB_RETRY_DONE);
    cr_assert_eq(s.attempts, 3);
    cr_assert_eq(s.slept, 300 * MSB_MSEC, "100 ms then 200 ms");
    msb_retry_free(r);
}

Test(retry_run, gives_up_with_the_last_status_and_why)
{
    script_t s = {.fail_first = 100, .status = MSB_ETIMEDOUT, .retry_after = 2 * MSB_SEC};
    msb_retry_t *r = policy(&s, 3);
    msb_retry_verdict_t v;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_run(r, attempt, &s, NULL, &v, &err), MSB_ETIMEDOUT);
    cr_assert_eq(v, MSB_RETRY_NO_ATTEMPTS);
    cr_assert_eq(s.slept, 4 * MSB_SEC, "Retry-After of 2 s twice");
    cr_assert_str_eq(err.message, "retry: gave up after 3 attempts (no_attempts): timed out");
    msb_retry_free(r);
}

Test(retry_run, not_retryable_stops_at_once)
{
    script_t s = {.fail_first = 100, .status = MSB_EAUTH};
    msb_retry_t *r = policy(&s, 3);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_run(r, attempt, &s, NULL, NULL, &err), MSB_EAUTH);
    cr_assert_eq(s.attempts, 1);
    cr_assert_str_eq(err.message,
                     "retry: gave up after 1 attempt (not_retryable): authentication failed");
    msb_retry_free(r);
}

Test(retry_run, null_arguments)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb_retry_verdict_t v;
    cr_assert_eq(msb_retry_run(NULL, attempt, NULL, NULL, &v, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "retry: policy is NULL");
    script_t s = {0};
    msb_retry_t *r = policy(&s, 3);
    cr_assert_eq(msb_retry_run(r, NULL, NULL, NULL, &v, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "retry: fn is NULL");
    msb_retry_free(r);
}

Test(retry_run, cancelled_before_the_first_attempt)
{
    script_t s = {0};
    msb_retry_t *r = policy(&s, 3);
    msb_retry_cancel_t *c = NULL;
    cr_assert_eq(msb_retry_cancel_new(&c), MSB_OK);
    cr_assert(!msb_retry_cancelled(c));
    msb_retry_cancel(c);
    cr_assert(msb_retry_cancelled(c));
    msb_retry_verdict_t v;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_run(r, attempt, &s, c, &v, &err), MSB_ECANCELED);
    cr_assert_eq(v, MSB_RETRY_CANCELED);
    cr_assert_eq(s.attempts, 0);
    cr_assert_str_eq(err.message, "retry: cancelled before attempt 1");
    msb_retry_cancel_free(c);
    msb_retry_free(r);
}

/* A real (not hooked) wait of an hour, interrupted by a cancel from another thread that is
 * waiting for the first attempt to have happened. */
typedef struct canceller {
    msb_retry_cancel_t *c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool attempted;
} canceller_t;

static msb_status_t fail_and_signal(uint32_t n, msb_retry_feedback_t *fb, void *user)
{
    canceller_t *k = user;
    (void)n;
    fb->retry_after_ns = 3600 * MSB_SEC;
    pthread_mutex_lock(&k->mu);
    k->attempted = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return MSB_EUNAVAIL;
}

static void *cancel_after_attempt(void *arg)
{
    canceller_t *k = arg;
    pthread_mutex_lock(&k->mu);
    while (!k->attempted) {
        pthread_cond_wait(&k->cv, &k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    msb_retry_cancel(k->c);
    return NULL;
}

Test(retry_run, cancel_interrupts_a_real_wait)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.max_retry_after_ns = 7200 * MSB_SEC;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    canceller_t k = {.attempted = false};
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    cr_assert_eq(msb_retry_cancel_new(&k.c), MSB_OK);
    pthread_t th;
    pthread_create(&th, NULL, cancel_after_attempt, &k);
    msb_retry_verdict_t v;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_run(r, fail_and_signal, &k, k.c, &v, &err), MSB_ECANCELED);
    cr_assert_eq(v, MSB_RETRY_CANCELED);
    cr_assert_str_eq(err.message, "retry: cancelled while waiting for attempt 2");
    pthread_join(th, NULL);
    msb_retry_cancel_free(k.c);
    msb_retry_free(r);
}

Test(retry_run, a_real_short_wait_without_token)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.initial_backoff_ns = 1000 * 1000; /* 1 ms */
    o.jitter = MSB_RETRY_JITTER_NONE;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    script_t s = {.fail_first = 1, .status = MSB_EBUSY};
    uint64_t t0 = msb_clock_monotonic_ns(NULL);
    cr_assert_eq(msb_retry_run(r, attempt, &s, NULL, NULL, NULL), MSB_OK);
    cr_assert_geq(msb_clock_monotonic_ns(NULL) - t0, 1000 * 1000, "waited the backoff");
    cr_assert_eq(s.attempts, 2);
    msb_retry_free(r);
}

Test(retry_run, cancelled_during_an_attempt_stops_after_it)
{
    script_t s = {.fail_first = 100, .status = MSB_EBUSY};
    msb_retry_t *r = policy(&s, 10);
    cr_assert_eq(msb_retry_cancel_new(&s.cancel_on_attempt), MSB_OK);
    msb_retry_verdict_t v;
    cr_assert_eq(msb_retry_run(r, attempt, &s, s.cancel_on_attempt, &v, NULL), MSB_ECANCELED);
    cr_assert_eq(s.attempts, 1);
    cr_assert_eq(v, MSB_RETRY_CANCELED);
    msb_retry_cancel_free(s.cancel_on_attempt);
    msb_retry_free(r);
}
