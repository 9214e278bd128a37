/*
 * Fuzz target for the JSON file layer: the input is the configuration file (held in a memfd and
 * read through /proc/self/fd/N, the path the loader opens). Properties: never crashes, hangs or
 * leaks; a failure has a message; a successful load prints, and its JSON printout parses back
 * with one member per key.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_fuzz_schema.h"
#include "msb/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("config.json", 0);
        if (fd < 0) {
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        abort();
    }
    static char *env[] = {NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = path;
    o.envp = env;
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_config_new(&o, &cfg, &err) != MSB_OK ||
        msb_config_add_keys(cfg, MSB_CONFIG_KEYS(fuzz_keys), &err) != MSB_OK) {
        abort();
    }
    msb_status_t rc = msb_config_load(cfg, 0, NULL, &err);
    if (rc != MSB_OK) {
        if (err.code != rc || err.message[0] == '\0') {
            abort();
        }
        msb_config_free(cfg);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL || msb_config_print(cfg, f, 0, NULL) != MSB_OK ||
        msb_config_print(cfg, f, MSB_CONFIG_PRINT_JSON, NULL) != MSB_OK) {
        abort();
    }
    fclose(f);
    /* the JSON printout follows the text one: find it and parse it */
    const char *json = strstr(text, "\n{\n");
    json = json != NULL ? json + 1 : (text[0] == '{' ? text : NULL);
    if (json == NULL) {
        abort();
    }
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    if (j == NULL || json_object_size(j) != sizeof(fuzz_keys) / sizeof(fuzz_keys[0]) + 2) {
        abort();
    }
    json_decref(j);
    free(text);
    msb_config_list_t l;
    if (msb_config_get_list(cfg, "cors.origins", &l, NULL) == MSB_OK) {
        for (size_t i = 0; i < l.count; i++) {
            if (l.items[i] == NULL || strlen(l.items[i]) > size) {
                abort();
            }
        }
    }
    msb_config_free(cfg);
    return 0;
}
