/*
 * Readers on many threads while another thread reloads the configuration over and over: every
 * read sees one whole version (never a torn or freed value), and strings obtained before a
 * reload stay readable after it. Run under ThreadSanitizer by the tsan preset.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msb/config.h"
#include "msb/msb.h"

#define READERS 4
#define RELOADS 300

static const msb_config_key_t keys[] = {
    {.name = "log.level",
     .type = MSB_CONFIG_STRING,
     .default_value = "info",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "http.timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "5s",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "tags", .type = MSB_CONFIG_LIST, .flags = MSB_CONFIG_RELOADABLE},
    {.name = "workers", .type = MSB_CONFIG_INT, .default_value = "4"},
};

static const char *const versions[2] = {
    "{\"log.level\": \"debug\", \"http.timeout\": \"1s\", \"tags\": [\"a\", \"b\"]}",
    "{\"log.level\": \"warn\", \"http.timeout\": \"2s\", \"tags\": [\"c\"], \"workers\": 9}",
};

static msb_config_t *cfg;
static atomic_bool stop;
static atomic_long passed;
static atomic_long failed;
static atomic_long changes;

static void check(int ok, const char *what)
{
    if (ok) {
        atomic_fetch_add(&passed, 1);
    } else {
        atomic_fetch_add(&failed, 1);
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

static void *reader(void *arg)
{
    (void)arg;
    const char *first = NULL;
    FILE *sink = fopen("/dev/null", "w");
    long rounds = 0;
    while (!atomic_load(&stop)) {
        const char *level = NULL;
        int64_t ns = 0;
        int64_t workers = 0;
        msb_config_list_t tags = {NULL, 0};
        char src[128];
        int ok = msb_config_get_string(cfg, "log.level", &level, NULL) == MSB_OK &&
                 msb_config_get_duration(cfg, "http.timeout", &ns, NULL) == MSB_OK &&
                 msb_config_get_list(cfg, "tags", &tags, NULL) == MSB_OK &&
                 msb_config_get_int(cfg, "workers", &workers, NULL) == MSB_OK &&
                 msb_config_get_source(cfg, "tags", NULL, src, sizeof(src), NULL) == MSB_OK;
        check(ok, "getters succeed");
        if (!ok) {
            continue;
        }
        check(strcmp(level, "debug") == 0 || strcmp(level, "warn") == 0, "level is a version's");
        check(ns == MSB_SEC || ns == 2 * MSB_SEC, "timeout is a version's");
        check(tags.count == 2 ? strcmp(tags.items[1], "b") == 0 : strcmp(tags.items[0], "c") == 0,
              "tags are a version's");
        check(workers == 4, "workers is not reloadable and stays 4");
        if (first == NULL) {
            first = level;
        }
        check(strcmp(first, "debug") == 0 || strcmp(first, "warn") == 0,
              "a string read before many reloads is still readable");
        if (++rounds % 64 == 0) {
            check(msb_config_print(cfg, sink, 0, NULL) == MSB_OK, "print during reloads");
        }
    }
    fclose(sink);
    return NULL;
}

static void count(void *user, const char *key, msb_config_change_t change)
{
    (void)user;
    (void)key;
    if (change == MSB_CONFIG_CHANGE_APPLIED) {
        atomic_fetch_add(&changes, 1);
    }
}

static void *reloader(void *arg)
{
    const char *path = arg;
    for (int i = 1; i <= RELOADS; i++) {
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        fputs(versions[i % 2], f);
        fclose(f);
        rename(tmp, path); /* atomic, as Kubernetes and editors replace files */
        msb_error_t err = MSB_ERROR_INIT;
        check(msb_config_reload(cfg, NULL, NULL, &err) == MSB_OK, err.message);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/msb-config-stress.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/app.json", dir);
    FILE *f = fopen(path, "w");
    fputs(versions[0], f);
    fclose(f);

    static char *env[] = {NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = path;
    o.envp = env;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_config_new(&o, &cfg, &err) != MSB_OK ||
        msb_config_add_keys(cfg, MSB_CONFIG_KEYS(keys), &err) != MSB_OK ||
        msb_config_load(cfg, 0, NULL, &err) != MSB_OK ||
        msb_config_watch(cfg, "", count, NULL, NULL, &err) != MSB_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    pthread_t r[READERS];
    pthread_t w;
    for (int i = 0; i < READERS; i++) {
        pthread_create(&r[i], NULL, reader, NULL);
    }
    pthread_create(&w, NULL, reloader, path);
    pthread_join(w, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < READERS; i++) {
        pthread_join(r[i], NULL);
    }
    /* every reload flipped the three reloadable keys */
    check(atomic_load(&changes) == 3L * RELOADS, "each reload applied three changes");
    msb_config_free(cfg);
    unlink(path);
    rmdir(dir);
    printf("%ld passed, %ld failed\n", atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) == 0 ? 0 : 1;
}
