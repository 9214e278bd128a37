#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"

static _Thread_local uint64_t state[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A forked child must not replay its parent's sequence (ids would collide). */
static void reseed_in_child(void)
{
    seeded = false;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, reseed_in_child);
}

static void seed(void)
{
    pthread_once(&atfork_once, register_atfork);
    uint64_t s = 0;
    if (msb__random_secure(&s, sizeof(s)) != MSB_OK) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
    }
    for (int i = 0; i < 4; i++) {
        state[i] = splitmix(&s);
    }
    seeded = true;
}

uint64_t msb__rand_u64(void)
{
    if (MSB_UNLIKELY(!seeded)) {
        seed();
    }
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

double msb__rand_double(void)
{
    return (double)(msb__rand_u64() >> 11) * 0x1.0p-53;
}

uint64_t msb__rand_below(uint64_t bound)
{
    if (bound == 0) {
        return 0;
    }
    unsigned __int128 m = (unsigned __int128)msb__rand_u64() * bound;
    uint64_t low = (uint64_t)m;
    if (low < bound) {
        uint64_t threshold = -bound % bound;
        while (low < threshold) {
            m = (unsigned __int128)msb__rand_u64() * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

msb_status_t msb__random_secure(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return MSB_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return MSB_OK;
}
