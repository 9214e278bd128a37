// msb-test: backends redis
/*
 * Fuzz target for msb__redis_url_parse. Properties: never crashes or reads past the input; on
 * success the parts are within their bounds (host non-empty, port 1..65535, db >= 0), and the
 * URL rebuilt from the parts (credentials percent-encoded) parses back to the same parts; on
 * failure the message is non-empty and never contains the password of the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 4 < size; p++) {
        o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

static void roundtrip(const msb__redis_url_t *u)
{
    char user[3 * MSB__REDIS_CRED_MAX + 1];
    char pass[3 * MSB__REDIS_CRED_MAX + 1];
    char url[4096];
    encode(u->user, user, sizeof(user));
    encode(u->password, pass, sizeof(pass));
    bool v6 = strchr(u->host, ':') != NULL;
    bool cred = u->has_user || u->has_password;
    snprintf(url, sizeof(url), "redis://%s%s%s%s%s%s%s:%d/%d", u->has_user ? user : "",
             cred ? ":" : "", u->has_password ? pass : "", cred ? "@" : "", v6 ? "[" : "", u->host,
             v6 ? "]" : "", u->port, u->db);
    msb__redis_url_t v;
    if (msb__redis_url_parse(url, &v, NULL) != MSB_OK || strcmp(u->host, v.host) != 0 ||
        u->port != v.port || u->db != v.db || u->has_user != v.has_user ||
        u->has_password != v.has_password || strcmp(u->user, v.user) != 0 ||
        strcmp(u->password, v.password) != 0) {
        abort();
    }
}

/*
 * Whether the text between the first ':' after the scheme and the last '@' (where a password
 * would be) appears in the message. Only passwords that cannot occur in the messages' own
 * wording are checked: 6+ characters with a letter and a digit, no '/'.
 */
static bool leaks_password(const char *s, const char *message)
{
    const char *at = strrchr(s, '@');
    const char *colon = strchr(s + (strncmp(s, "redis://", 8) == 0 ? 8 : 0), ':');
    if (at == NULL || colon == NULL || colon > at) {
        return false;
    }
    size_t n = (size_t)(at - colon - 1);
    char pw[600];
    if (n < 6 || n >= sizeof(pw)) {
        return false;
    }
    memcpy(pw, colon + 1, n);
    pw[n] = '\0';
    bool letter = false;
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        letter = letter || (pw[i] >= 'a' && pw[i] <= 'z') || (pw[i] >= 'A' && pw[i] <= 'Z');
        digit = digit || (pw[i] >= '0' && pw[i] <= '9');
    }
    return letter && digit && strchr(pw, '/') == NULL && strstr(message, pw) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    msb__redis_url_t u;
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t rc = msb__redis_url_parse(s, &u, &err);
    if (rc == MSB_OK) {
        if (u.host[0] == '\0' || u.port < 1 || u.port > 65535 || u.db < 0) {
            abort();
        }
        roundtrip(&u);
    } else {
        if (err.code != rc || err.message[0] == '\0') {
            abort();
        }
        if (leaks_password(s, err.message)) {
            abort();
        }
    }
    free(s);
    return 0;
}
