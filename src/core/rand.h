/* Randomness: a fast per-thread generator for jitter, sampling and ids; the kernel for secrets. */
#ifndef MSB_CORE_RAND_H
#define MSB_CORE_RAND_H

#include "core/common.h"

/* Uniform 64-bit value from a per-thread xoshiro256** seeded by getrandom(). Not for secrets. */
MSB_INTERNAL uint64_t msb__rand_u64(void);
/* Uniform double in [0, 1). */
MSB_INTERNAL double msb__rand_double(void);
/* Uniform integer in [0, bound); bound 0 gives 0. Unbiased (Lemire's method). */
MSB_INTERNAL uint64_t msb__rand_below(uint64_t bound);
/* Cryptographically secure bytes from the kernel (getrandom). MSB_EIO if it fails. */
MSB_INTERNAL msb_status_t msb__random_secure(void *buf, size_t len);

#endif
