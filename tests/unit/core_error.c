#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "msb/msb.h"

Test(core_error, every_status_has_text_and_name)
{
    for (int s = MSB_OK; s <= MSB_ELIMIT; s++) {
        cr_assert_str_neq(msb_strerror((msb_status_t)s), "unknown status", "status %d", s);
        cr_assert_eq(strncmp(msb_status_name((msb_status_t)s), "MSB_", 4), 0);
    }
    cr_assert_str_eq(msb_strerror((msb_status_t)9999), "unknown status");
    cr_assert_str_eq(msb_status_name((msb_status_t)-1), "MSB_E?");
    cr_assert_str_eq(msb_status_name(MSB_ETIMEDOUT), "MSB_ETIMEDOUT");
}

Test(core_error, err_fills_code_and_message)
{
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__err(&err, MSB_EINVAL, "field %s: bad", "x"), MSB_EINVAL);
    cr_assert_eq(err.code, MSB_EINVAL);
    cr_assert_str_eq(err.message, "field x: bad");
    cr_assert_eq(msb__err(NULL, MSB_EIO, "ignored"), MSB_EIO);
}

Test(core_error, empty_format_falls_back_to_strerror)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb__err(&err, MSB_ETIMEDOUT, "%s", "");
    cr_assert_str_eq(err.message, "timed out");
}

Test(core_error, long_message_is_truncated_and_terminated)
{
    msb_error_t err = MSB_ERROR_INIT;
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    msb__err(&err, MSB_EINVAL, "%s", big);
    cr_assert_eq(strlen(err.message), MSB_ERROR_MESSAGE_MAX - 1);
}

Test(core_error, prefix_keeps_inner_detail)
{
    msb_error_t err = MSB_ERROR_INIT;
    msb__err(&err, MSB_EUNAVAIL, "connection refused");
    cr_assert_eq(msb__err_prefix(&err, MSB_EIO, "db %s: ", "primary"), MSB_EUNAVAIL);
    cr_assert_str_eq(err.message, "db primary: connection refused");
}
