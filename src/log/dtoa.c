/*
 * Shortest-form double to text for log records: Grisu2 (F. Loitsch, "Printing Floating-Point
 * Numbers Quickly and Accurately with Integers", PLDI 2010). The digits it produces always lie
 * inside the double's rounding interval (narrowed by one unit of the 64-bit arithmetic on each
 * side), so the text reads back to the same double; in rare cases it is a digit longer than the
 * shortest. A few hundred instructions against several thousand for snprintf + strtod.
 */
#include <string.h>

#include "log/log_impl.h"

typedef struct diyfp {
    uint64_t f;
    int e;
} diyfp_t;

/* 10^k for k = -348..340 step 8: significand rounded to 64 bits, binary exponent, k. */
static const struct {
    uint64_t f;
    int16_t e;
    int16_t k;
} pow10_cache[] = {
    {UINT64_C(0xfa8fd5a0081c0288), -1220, -348}, {UINT64_C(0xbaaee17fa23ebf76), -1193, -340},
    {UINT64_C(0x8b16fb203055ac76), -1166, -332}, {UINT64_C(0xcf42894a5dce35ea), -1140, -324},
    {UINT64_C(0x9a6bb0aa55653b2d), -1113, -316}, {UINT64_C(0xe61acf033d1a45df), -1087, -308},
    {UINT64_C(0xab70fe17c79ac6ca), -1060, -300}, {UINT64_C(0xff77b1fcbebcdc4f), -1034, -292},
    {UINT64_C(0xbe5691ef416bd60c), -1007, -284}, {UINT64_C(0x8dd01fad907ffc3c), -980, -276},
    {UINT64_C(0xd3515c2831559a83), -954, -268},  {UINT64_C(0x9d71ac8fada6c9b5), -927, -260},
    {UINT64_C(0xea9c227723ee8bcb), -901, -252},  {UINT64_C(0xaecc49914078536d), -874, -244},
    {UINT64_C(0x823c12795db6ce57), -847, -236},  {UINT64_C(0xc21094364dfb5637), -821, -228},
    {UINT64_C(0x9096ea6f3848984f), -794, -220},  {UINT64_C(0xd77485cb25823ac7), -768, -212},
    {UINT64_C(0xa086cfcd97bf97f4), -741, -204},  {UINT64_C(0xef340a98172aace5), -715, -196},
    {UINT64_C(0xb23867fb2a35b28e), -688, -188},  {UINT64_C(0x84c8d4dfd2c63f3b), -661, -180},
    {UINT64_C(0xc5dd44271ad3cdba), -635, -172},  {UINT64_C(0x936b9fcebb25c996), -608, -164},
    {UINT64_C(0xdbac6c247d62a584), -582, -156},  {UINT64_C(0xa3ab66580d5fdaf6), -555, -148},
    {UINT64_C(0xf3e2f893dec3f126), -529, -140},  {UINT64_C(0xb5b5ada8aaff80b8), -502, -132},
    {UINT64_C(0x87625f056c7c4a8b), -475, -124},  {UINT64_C(0xc9bcff6034c13053), -449, -116},
    {UINT64_C(0x964e858c91ba2655), -422, -108},  {UINT64_C(0xdff9772470297ebd), -396, -100},
    {UINT64_C(0xa6dfbd9fb8e5b88f), -369, -92},   {UINT64_C(0xf8a95fcf88747d94), -343, -84},
    {UINT64_C(0xb94470938fa89bcf), -316, -76},   {UINT64_C(0x8a08f0f8bf0f156b), -289, -68},
    {UINT64_C(0xcdb02555653131b6), -263, -60},   {UINT64_C(0x993fe2c6d07b7fac), -236, -52},
    {UINT64_C(0xe45c10c42a2b3b06), -210, -44},   {UINT64_C(0xaa242499697392d3), -183, -36},
    {UINT64_C(0xfd87b5f28300ca0e), -157, -28},   {UINT64_C(0xbce5086492111aeb), -130, -20},
    {UINT64_C(0x8cbccc096f5088cc), -103, -12},   {UINT64_C(0xd1b71758e219652c), -77, -4},
    {UINT64_C(0x9c40000000000000), -50, 4},      {UINT64_C(0xe8d4a51000000000), -24, 12},
    {UINT64_C(0xad78ebc5ac620000), 3, 20},       {UINT64_C(0x813f3978f8940984), 30, 28},
    {UINT64_C(0xc097ce7bc90715b3), 56, 36},      {UINT64_C(0x8f7e32ce7bea5c70), 83, 44},
    {UINT64_C(0xd5d238a4abe98068), 109, 52},     {UINT64_C(0x9f4f2726179a2245), 136, 60},
    {UINT64_C(0xed63a231d4c4fb27), 162, 68},     {UINT64_C(0xb0de65388cc8ada8), 189, 76},
    {UINT64_C(0x83c7088e1aab65db), 216, 84},     {UINT64_C(0xc45d1df942711d9a), 242, 92},
    {UINT64_C(0x924d692ca61be758), 269, 100},    {UINT64_C(0xda01ee641a708dea), 295, 108},
    {UINT64_C(0xa26da3999aef774a), 322, 116},    {UINT64_C(0xf209787bb47d6b85), 348, 124},
    {UINT64_C(0xb454e4a179dd1877), 375, 132},    {UINT64_C(0x865b86925b9bc5c2), 402, 140},
    {UINT64_C(0xc83553c5c8965d3d), 428, 148},    {UINT64_C(0x952ab45cfa97a0b3), 455, 156},
    {UINT64_C(0xde469fbd99a05fe3), 481, 164},    {UINT64_C(0xa59bc234db398c25), 508, 172},
    {UINT64_C(0xf6c69a72a3989f5c), 534, 180},    {UINT64_C(0xb7dcbf5354e9bece), 561, 188},
    {UINT64_C(0x88fcf317f22241e2), 588, 196},    {UINT64_C(0xcc20ce9bd35c78a5), 614, 204},
    {UINT64_C(0x98165af37b2153df), 641, 212},    {UINT64_C(0xe2a0b5dc971f303a), 667, 220},
    {UINT64_C(0xa8d9d1535ce3b396), 694, 228},    {UINT64_C(0xfb9b7cd9a4a7443c), 720, 236},
    {UINT64_C(0xbb764c4ca7a44410), 747, 244},    {UINT64_C(0x8bab8eefb6409c1a), 774, 252},
    {UINT64_C(0xd01fef10a657842c), 800, 260},    {UINT64_C(0x9b10a4e5e9913129), 827, 268},
    {UINT64_C(0xe7109bfba19c0c9d), 853, 276},    {UINT64_C(0xac2820d9623bf429), 880, 284},
    {UINT64_C(0x80444b5e7aa7cf85), 907, 292},    {UINT64_C(0xbf21e44003acdd2d), 933, 300},
    {UINT64_C(0x8e679c2f5e44ff8f), 960, 308},    {UINT64_C(0xd433179d9c8cb841), 986, 316},
    {UINT64_C(0x9e19db92b4e31ba9), 1013, 324},   {UINT64_C(0xeb96bf6ebadf77d9), 1039, 332},
    {UINT64_C(0xaf87023b9bf0ee6b), 1066, 340},
};

#define ALPHA (-60)
#define GAMMA (-32)

static diyfp_t mul(diyfp_t a, diyfp_t b)
{
    unsigned __int128 p = (unsigned __int128)a.f * b.f;
    uint64_t hi = (uint64_t)(p >> 64);
    uint64_t lo = (uint64_t)p;
    hi += lo >> 63; /* round to nearest */
    return (diyfp_t){hi, a.e + b.e + 64};
}

static diyfp_t normalize(diyfp_t x)
{
    int s = __builtin_clzll(x.f);
    return (diyfp_t){x.f << s, x.e - s};
}

/* v = f * 2^e normalized, and its rounding interval's bounds m- and m+ at m+'s exponent. */
static void boundaries(double v, diyfp_t *w, diyfp_t *lo, diyfp_t *hi)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    int bexp = (int)(bits >> 52 & 0x7ff);
    diyfp_t x =
        bexp != 0 ? (diyfp_t){frac | UINT64_C(1) << 52, bexp - 1075} : (diyfp_t){frac, -1074};
    diyfp_t h = normalize((diyfp_t){(x.f << 1) + 1, x.e - 1});
    /* At a power of two the gap below is half the gap above (not for the smallest normal). */
    diyfp_t l = frac == 0 && bexp > 1 ? (diyfp_t){(x.f << 2) - 1, x.e - 2}
                                      : (diyfp_t){(x.f << 1) - 1, x.e - 1};
    l.f <<= l.e - h.e;
    l.e = h.e;
    *w = normalize(x);
    *lo = l;
    *hi = h;
}

/* The cached power c with ALPHA <= e + c.e + 64 <= GAMMA; *k receives its decimal exponent. */
static diyfp_t cached_power(int e, int *k)
{
    int n = (int)MSB_ARRAY_LEN(pow10_cache);
    /* Estimate the decimal exponent from log10(2), then step to the entry that fits. */
    int i = ((int)((double)(ALPHA - e + 63) * 0.30102999566398114) + 348) / 8;
    i = i < 0 ? 0 : (i >= n ? n - 1 : i);
    while (i + 1 < n && e + pow10_cache[i].e + 64 < ALPHA) {
        i++;
    }
    while (i > 0 && e + pow10_cache[i].e + 64 > GAMMA) {
        i--;
    }
    *k = pow10_cache[i].k;
    return (diyfp_t){pow10_cache[i].f, pow10_cache[i].e};
}

/* Move the last digit towards w while the result stays inside the interval (Grisu2's round). */
static void round_digit(char *buf, int len, uint64_t delta, uint64_t rest, uint64_t ten_kappa,
                        uint64_t wp_w)
{
    while (rest < wp_w && delta - rest >= ten_kappa &&
           (rest + ten_kappa < wp_w || wp_w - rest > rest + ten_kappa - wp_w)) {
        buf[len - 1]--;
        rest += ten_kappa;
    }
}

static const uint32_t pow10_u32[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

/* Digits of a number in [hi - delta, hi] close to w; returns their count, adds to *k. */
static int digit_gen(diyfp_t w, diyfp_t hi, uint64_t delta, char *buf, int *k)
{
    int shift = -hi.e;
    uint64_t one = UINT64_C(1) << shift;
    uint64_t wp_w = hi.f - w.f;
    uint32_t p1 = (uint32_t)(hi.f >> shift);
    uint64_t p2 = hi.f & (one - 1);
    int kappa = 10;
    while (kappa > 0 && p1 < pow10_u32[kappa - 1]) {
        kappa--;
    }
    int len = 0;
    while (kappa > 0) {
        uint32_t div = pow10_u32[kappa - 1];
        buf[len++] = (char)('0' + p1 / div); /* the first is not 0: p1 >= 10^(kappa-1) */
        p1 %= div;
        kappa--;
        uint64_t rest = ((uint64_t)p1 << shift) + p2;
        if (rest <= delta) {
            *k += kappa;
            round_digit(buf, len, delta, rest, (uint64_t)pow10_u32[kappa] << shift, wp_w);
            return len;
        }
    }
    uint64_t unit = 1;
    for (;;) {
        p2 *= 10;
        delta *= 10;
        unit *= 10;
        buf[len++] = (char)('0' + (p2 >> shift)); /* p1 >= 8 (GAMMA): digits came before */
        p2 &= one - 1;
        kappa--;
        if (p2 <= delta) {
            *k += kappa;
            round_digit(buf, len, delta, p2, one, wp_w * unit);
            return len;
        }
    }
}

/* Digits of a finite positive double: value = digits * 10^*k; returns their count (<= 17). */
static int grisu2(double v, char *buf, int *k)
{
    diyfp_t w;
    diyfp_t lo;
    diyfp_t hi;
    boundaries(v, &w, &lo, &hi);
    int mk;
    diyfp_t c = cached_power(hi.e, &mk);
    diyfp_t cw = mul(w, c);
    diyfp_t clo = mul(lo, c);
    diyfp_t chi = mul(hi, c);
    clo.f++;
    chi.f--;
    *k = -mk;
    return digit_gen(cw, chi, chi.f - clo.f, buf, k);
}

size_t msb__log_dtoa(char *out, double a)
{
    char d[24];
    int k;
    int len = grisu2(a, d, &k);
    int dp = len + k; /* the decimal point comes after this many digits */
    size_t o = 0;
    if (k >= 0 && dp <= 21) { /* an integer: digits, zeros, ".0" */
        memcpy(out, d, (size_t)len);
        memset(out + len, '0', (size_t)k);
        out[dp] = '.';
        out[dp + 1] = '0';
        return (size_t)dp + 2;
    }
    if (dp > 0 && dp <= 21) { /* ddd.ddd */
        memcpy(out, d, (size_t)dp);
        out[dp] = '.';
        memcpy(out + dp + 1, d + dp, (size_t)(len - dp));
        return (size_t)len + 1;
    }
    if (dp <= 0 && dp > -6) { /* 0.000ddd */
        out[o++] = '0';
        out[o++] = '.';
        memset(out + o, '0', (size_t)-dp);
        o += (size_t)-dp;
        memcpy(out + o, d, (size_t)len);
        return o + (size_t)len;
    }
    out[o++] = d[0]; /* d.ddde+x */
    if (len > 1) {
        out[o++] = '.';
        memcpy(out + o, d + 1, (size_t)len - 1);
        o += (size_t)len - 1;
    }
    int x = dp - 1;
    out[o++] = 'e';
    out[o++] = x < 0 ? '-' : '+';
    x = x < 0 ? -x : x;
    if (x >= 100) {
        out[o++] = (char)('0' + x / 100);
    }
    if (x >= 10) {
        out[o++] = (char)('0' + x / 10 % 10);
    }
    out[o++] = (char)('0' + x % 10);
    return o;
}
