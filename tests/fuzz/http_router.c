/*
 * libFuzzer target for the router: the input's lines are "METHOD PATTERN" routes (added, valid or
 * not) and, on the last line, "METHOD PATH" to look up. Checks that a match names a route whose
 * method fits and whose parameters index real segments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool cond)
{
    if (!cond) {
        __builtin_trap();
    }
}

static void lookup(msb__http_router_t *r, char *line)
{
    char *sp = strchr(line, ' ');
    if (sp == NULL || sp[1] != '/') {
        return;
    }
    *sp = '\0';
    const char *path = sp + 1;
    size_t n = strlen(path);
    static msb__http_seg_t segs[MSB__HTTP_MAX_SEGMENTS];
    static char scratch[4096];
    if (n >= sizeof(scratch)) {
        return;
    }
    size_t nsegs;
    msb__http_perr_t e;
    if (!msb__http_path_split(path, n, segs, &nsegs, scratch, &e)) {
        return;
    }
    int m = msb__http_router_method(r, line, strlen(line));
    msb__http_match_t match;
    msb__http_router_match(r, segs, nsegs, m, &match);
    if (match.route != NULL) {
        require(match.route->method == m || (m == MSB__M_HEAD && match.head_via_get));
        for (uint32_t i = 0; i < match.route->nparams; i++) {
            require(match.seg[i] < nsegs);
        }
        require(match.allow & (1u << match.route->method));
    } else if (match.node != NULL) {
        require(match.allow != 0);
        char allow[512];
        msb__http_router_allow(r, match.allow, allow, sizeof(allow));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) {
        return 0;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    msb__http_router_t *r;
    if (msb__http_router_new(&r) != MSB_OK) {
        free(text);
        return 0;
    }
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    char *last = NULL;
    int routes = 0;
    while (line != NULL) {
        char *next = strtok_r(NULL, "\n", &save);
        if (next == NULL) {
            last = line;
            break;
        }
        char *sp = strchr(line, ' ');
        if (sp != NULL && routes++ < 64) {
            *sp = '\0';
            const msb__http_route_t *rt;
            msb_error_t err;
            msb_status_t rc = msb__http_router_add(r, line, sp + 1, NULL, NULL, NULL, &rt, &err);
            require(rc == MSB_OK || err.message[0] != '\0');
        }
        line = next;
    }
    if (last != NULL) {
        lookup(r, last);
    }
    msb__http_router_free(r);
    free(text);
    return 0;
}
