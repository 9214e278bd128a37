#include <criterion/criterion.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "msb/msb.h"
#include "support/failing_alloc.h"

Test(core_alloc, set_allocator_validates)
{
    msb_allocator_t a = {NULL, NULL, NULL, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_EINVAL);
    cr_assert_eq(msb_set_allocator(NULL), MSB_OK);
}

Test(core_alloc, calloc_overflow_is_null)
{
    cr_assert_null(msb__calloc(SIZE_MAX / 2, 4));
    void *p = msb__calloc(0, 8);
    cr_assert_not_null(p);
    msb__free(p);
}

Test(core_alloc, strdup_and_memdup)
{
    char *s = msb__strdup("abc");
    cr_assert_str_eq(s, "abc");
    char *n = msb__strndup("abcdef", 2);
    cr_assert_str_eq(n, "ab");
    void *m = msb__memdup("xyz", 3);
    cr_assert_eq(memcmp(m, "xyz", 3), 0);
    msb__free(s);
    msb__free(n);
    msb__free(m);
}

Test(core_alloc, hook_receives_every_allocation)
{
    failing_alloc_install(-1);
    char *s = msb__strdup("x");
    cr_assert_eq(failing_alloc_live(), 1);
    msb__free(s);
    cr_assert_eq(failing_alloc_live(), 0);
    failing_alloc_remove();
}

Test(core_alloc, buf_reports_each_failure_without_leak)
{
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        msb__buf_t b = MSB__BUF_INIT;
        for (int i = 0; i < 100; i++) {
            msb__buf_puts(&b, "0123456789abcdef");
        }
        msb_status_t rc = msb__buf_status(&b);
        bool fired = failing_alloc_fired();
        msb__buf_free(&b);
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK);
            break;
        }
        cr_assert_eq(rc, MSB_ENOMEM, "allocation %ld failed but status is %d", n, rc);
    }
}

Test(core_alloc, manual_clock_reports_enomem)
{
    failing_alloc_install(0);
    msb_clock_t *c = NULL;
    cr_assert_eq(msb_clock_manual_new(0, 0, &c), MSB_ENOMEM);
    cr_assert_null(c);
    failing_alloc_remove();
}
