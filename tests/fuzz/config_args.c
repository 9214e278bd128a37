/*
 * Fuzz target for the command line: the input, split at NUL bytes, is argv[1..]. Properties:
 * never crashes or leaks; a failure has a message; after a successful load the remaining
 * arguments are a subsequence of the input, and printing works. Inputs that name a
 * configuration file (--config) are skipped: the fuzzer must not make the loader read files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fuzz_schema.h"
#include "msb/config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "prog";
    for (size_t at = 0; at <= size && argc < MAX_ARGS;) {
        argv[argc++] = copy + at;
        at += strlen(copy + at) + 1;
    }
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '\0' || argv[i][8] == '=')) {
            free(copy);
            return 0;
        }
    }
    static char *env[] = {NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.envp = env;
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_config_new(&o, &cfg, &err) != MSB_OK ||
        msb_config_add_keys(cfg, MSB_CONFIG_KEYS(fuzz_keys), &err) != MSB_OK) {
        abort();
    }
    msb_status_t rc = msb_config_load(cfg, argc, argv, &err);
    if (rc != MSB_OK && (err.code != rc || err.message[0] == '\0')) {
        abort();
    }
    if (rc == MSB_OK && msb_config_action(cfg) != MSB_CONFIG_ACTION_HELP) {
        size_t n = 0;
        const char *const *rest = msb_config_args(cfg, &n);
        int j = 1;
        for (size_t i = 0; i < n; i++) {
            while (j < argc && strcmp(argv[j], rest[i]) != 0) {
                j++;
            }
            if (j == argc) {
                abort(); /* not a subsequence of the input */
            }
            j++;
        }
        FILE *sink = fopen("/dev/null", "w");
        if (msb_config_print(cfg, sink, MSB_CONFIG_PRINT_JSON, NULL) != MSB_OK) {
            abort();
        }
        fclose(sink);
    }
    msb_config_free(cfg);
    free(copy);
    return 0;
}
