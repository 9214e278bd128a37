/*
 * Fuzz target for the logger's record encoder (msb_log_write through a synchronous callback
 * sink): arbitrary message, key and string bytes, any double bit pattern and any integer.
 * Properties: every record is one line holding one JSON object that jansson accepts, in valid
 * UTF-8; the integer and a finite double read back exactly; a string value or key that was valid
 * UTF-8 reads back unchanged; the record's own keys cannot be overridden.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "msb/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *last;
static size_t last_len;
static int records;

static void sink(const char *rec, size_t len, void *user)
{
    (void)user;
    free(last);
    last = malloc(len + 1);
    memcpy(last, rec, len + 1); /* with its '\n' */
    last_len = len;
    records++;
}

static msb_log_t *logger(void)
{
    static msb_log_t *lg;
    if (lg == NULL) {
        msb_log_opts_t o = MSB_LOG_OPTS_INIT;
        o.synchronous = true;
        o.sink = MSB_LOG_SINK_CALLBACK;
        o.callback = sink;
        o.service = "fuzz";
        if (msb_log_new(&o, &lg, NULL) != MSB_OK) {
            abort();
        }
    }
    return lg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 18) {
        return 0;
    }
    double d;
    int64_t i;
    memcpy(&d, data, 8);
    memcpy(&i, data + 8, 8);
    const char *rest = (const char *)data + 18;
    size_t n = size - 18;
    size_t a = n == 0 ? 0 : data[16] % (n + 1);
    size_t b = n - a == 0 ? a : a + data[17] % (n - a + 1);
    char *msg = strndup(rest, a); /* up to its first NUL */
    char *key = strndup(rest + a, b - a);
    const char *val = rest + b;
    size_t val_len = n - b;

    int before = records;
    msb_log_write(logger(), MSB_LOG_ERROR, msg,
                  MSB_LOG_FIELDS(MSB_LOG_F64("d", d), MSB_LOG_I64("i", i),
                                 MSB_LOG_STRN("v", val, val_len), MSB_LOG_BOOLEAN(key, 1)));
    if (records != before + 1 || last[last_len] != '\n' || memchr(last, '\n', last_len) != NULL ||
        !msb__utf8_valid(last, last_len)) {
        abort();
    }
    json_error_t jerr;
    json_t *j = json_loadb(last, last_len, JSON_ALLOW_NUL, &jerr);
    if (j == NULL || !json_is_object(j)) {
        abort();
    }
    if (strcmp(json_string_value(json_object_get(j, "service")), "fuzz") != 0 ||
        strcmp(json_string_value(json_object_get(j, "level")), "error") != 0) {
        abort(); /* a field named like the record's own keys must not override them */
    }
    json_t *jd = json_object_get(j, "d");
    if (strcmp(key, "d") != 0 && isfinite(d) && (!json_is_real(jd) || json_real_value(jd) != d)) {
        abort();
    }
    if (strcmp(key, "i") != 0 && json_integer_value(json_object_get(j, "i")) != i) {
        abort();
    }
    size_t klen = strlen(key);
    bool key_ok = klen > 0 && msb__utf8_valid(key, klen) && strcmp(key, "v") != 0;
    json_t *jv = json_object_get(j, "v");
    if (key_ok && msb__utf8_valid(val, val_len) &&
        (json_string_length(jv) != val_len || memcmp(json_string_value(jv), val, val_len) != 0)) {
        abort();
    }
    bool reserved = strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 ||
                    strcmp(key, "msg") == 0 || strcmp(key, "service") == 0;
    if (key_ok && !reserved && !json_is_true(json_object_get(j, key))) {
        abort();
    }
    json_decref(j);
    free(msg);
    free(key);
    return 0;
}
