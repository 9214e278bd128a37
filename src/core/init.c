#include <stdatomic.h>

#include "core/common.h"
#include "core/hash.h"
#include "core/str.h"

static atomic_int init_count;

msb_status_t msb_init(void)
{
    if (atomic_fetch_add(&init_count, 1) == 0) {
        /* Create the lazily made global state now, before the host starts threads. */
        (void)msb__c_locale();
        (void)msb__hash("", 0);
    }
    return MSB_OK;
}

void msb_fini(void)
{
    int prev = atomic_fetch_sub(&init_count, 1);
    if (prev <= 0) {
        atomic_fetch_add(&init_count, 1); /* unmatched call: ignore */
    }
}
