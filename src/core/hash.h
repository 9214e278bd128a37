/* Keyed hashing (SipHash-1-3) for tables whose keys an attacker chooses (IPs, user ids). */
#ifndef MSB_CORE_HASH_H
#define MSB_CORE_HASH_H

#include "core/common.h"

MSB_INTERNAL uint64_t msb__siphash(const void *data, size_t len, uint64_t k0, uint64_t k1);
/* SipHash with a per-process random key, drawn once. */
MSB_INTERNAL uint64_t msb__hash(const void *data, size_t len);

#endif
