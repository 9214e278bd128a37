/*
 * "Did you mean": the declared name closest to a misspelt one, by optimal-string-alignment
 * distance (Levenshtein plus the swap of two neighbours, the commonest typo).
 */
#include <string.h>

#include "config/internal.h"
#include "core/str.h"

size_t msb__config_distance(const char *a, size_t an, const char *b, size_t bn)
{
    size_t rows[3][CFG_KEY_MAX + 1];
    if (an > CFG_KEY_MAX || bn > CFG_KEY_MAX) {
        return SIZE_MAX;
    }
    size_t *prev2 = rows[0];
    size_t *prev = rows[1];
    size_t *cur = rows[2];
    for (size_t j = 0; j <= bn; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= an; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < best) {
                best = prev[j - 1] + cost;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best) {
                best = prev2[j - 2] + 1;
            }
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[bn];
}

/* How far a suggestion may be from what was written. */
static size_t allowed(size_t n)
{
    if (n <= 2) {
        return 0; /* one edit turns "a" into anything */
    }
    return n <= 4 ? 1 : (n <= 12 ? 2 : 3);
}

static size_t last_segment(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && s[i - 1] != '.') {
        i--;
    }
    return i;
}

/* Closest key to s[0..n), with its distance; SIZE_MAX when there are no keys. */
static size_t closest(const msb_config_t *cfg, const char *s, size_t n, size_t *dist)
{
    size_t best = SIZE_MAX;
    *dist = SIZE_MAX;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const cfg_key_t *k = &cfg->keys[i];
        size_t d = msb__config_distance(s, n, k->name, k->len);
        if (d < *dist) {
            *dist = d;
            best = i;
        }
    }
    return best;
}

bool msb__config_suggest(const msb_config_t *cfg, const char *s, size_t n, char *out, size_t size)
{
    static const char suffix[] = "_file";
    const size_t sl = sizeof(suffix) - 1;
    size_t d;
    size_t best = closest(cfg, s, n, &d);
    if (best != SIZE_MAX && d <= allowed(n)) {
        msb__strlcpy(out, cfg->keys[best].name, size);
        return true;
    }
    if (n > sl && memcmp(s + n - sl, suffix, sl) == 0) {
        best = closest(cfg, s, n - sl, &d);
        if (best != SIZE_MAX && d <= allowed(n - sl)) {
            size_t w = msb__strlcpy(out, cfg->keys[best].name, size);
            if (w < size) {
                msb__strlcpy(out + w, suffix, size - w);
            }
            return true;
        }
    }
    /* The right name in the wrong section: "listen" or "server.listen" for "http.listen". */
    size_t ls = last_segment(s, n);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const cfg_key_t *k = &cfg->keys[i];
        size_t ks = last_segment(k->name, k->len);
        if (k->len - ks == n - ls && memcmp(k->name + ks, s + ls, n - ls) == 0) {
            msb__strlcpy(out, k->name, size);
            return true;
        }
    }
    return false;
}

bool msb__config_suggest_word(const char *words, const char *s, size_t n, char *out, size_t size)
{
    size_t best_d = SIZE_MAX;
    const char *best = NULL;
    size_t best_len = 0;
    const char *w = words;
    while (*w != '\0') {
        const char *end = strchr(w, '|');
        size_t len = end != NULL ? (size_t)(end - w) : strlen(w);
        size_t d = msb__config_distance(s, n, w, len);
        if (d < best_d) {
            best_d = d;
            best = w;
            best_len = len;
        }
        w += len;
        if (*w == '|') {
            w++;
        }
    }
    if (best == NULL || best_d > allowed(n) || size == 0) {
        return false;
    }
    size_t c = best_len < size - 1 ? best_len : size - 1;
    memcpy(out, best, c);
    out[c] = '\0';
    return true;
}
