/*
 * The cache's key hash: a keyed multiply-mix hash (the folded 128-bit product of 64-bit words,
 * in the manner of wyhash), about 20 instructions for a short key where SipHash-1-3
 * (msb__hash) takes about 140. Each cache draws its own two 64-bit secrets at creation, so an
 * attacker who does not know them cannot aim keys at one bucket; a chain that grows anyway costs
 * that shard, not the process (each shard's table grows with its entries). It is not a MAC and
 * is never used as one.
 */
#include <string.h>

#include "cache/internal.h"

#define P0 UINT64_C(0xa0761d6478bd642f)
#define P1 UINT64_C(0xe7037ed1a0b428db)
#define P2 UINT64_C(0x8ebc6af09c88c6e3)

static inline uint64_t fold(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* 1..3 bytes: first, middle and last byte. */
static inline uint64_t rd_small(const unsigned char *p, size_t n)
{
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
}

uint64_t msb__cache_hash(const msb_cache_t *c, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t s = c->seed[0] ^ P0;
    uint64_t a;
    uint64_t b;
    if (len <= 16) {
        if (len >= 4) {
            /* two overlapping reads cover 4..16 bytes */
            a = (rd32(p) << 32) | rd32(p + ((len >> 3) << 2));
            b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - ((len >> 3) << 2));
        } else {
            a = len > 0 ? rd_small(p, len) : 0;
            b = 0;
        }
    } else {
        size_t i = len;
        uint64_t t = s;
        while (i > 16) {
            s = fold(rd64(p) ^ P1, rd64(p + 8) ^ s);
            t ^= s;
            p += 16;
            i -= 16;
        }
        s ^= t;
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    return fold(P1 ^ len ^ c->seed[1], fold(a ^ P1, b ^ s ^ P2));
}
