/*
 * msb_config_reload() and watches. A reload builds a whole new snapshot without any lock readers
 * take, compares it with the current one key by key, keeps the old value of every changed key
 * that is not reloadable, and publishes the result with one pointer swap under the write lock.
 * Callbacks run after the swap, on the reloading thread, under reload_lock (so unwatch can
 * promise that a removed callback is not running).
 */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

/* The configuration whose callbacks this thread is running, to refuse re-entry. */
static _Thread_local const msb_config_t *in_callback;

enum { UNCHANGED = 0, APPLIED = 1, RESTART = 2 };

/* Decide each key's fate; the new snapshot takes the old value where nothing is to change. */
static msb_status_t compare(msb_config_t *cfg, cfg_snapshot_t *old, cfg_snapshot_t *nw,
                            unsigned char *changes)
{
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const cfg_key_t *k = &cfg->keys[i];
        cfg_value_t *nv = &nw->values[i];
        const cfg_value_t *ov = &old->values[i];
        if (msb__config_value_equal(k->type, nv, ov)) {
            /* same value (perhaps from elsewhere): keep the pointers readers already hold */
            msb__free(nv->blob);
            nv->blob = NULL;
            nv->v = ov->v;
            changes[i] = UNCHANGED;
        } else if ((k->flags & MSB_CONFIG_RELOADABLE) != 0) {
            changes[i] = APPLIED;
        } else {
            msb__free(nv->blob);
            nv->blob = NULL;
            nv->layer = ov->layer;
            nv->v = ov->v;
            if (ov->layer != MSB_CONFIG_LAYER_NONE && ov->layer != MSB_CONFIG_LAYER_DEFAULT) {
                nv->source = nw->sources.len;
                msb__buf_puts(&nw->sources, msb__config_source(old, ov));
                msb__buf_putc(&nw->sources, '\0');
            }
            changes[i] = RESTART;
        }
    }
    return msb__buf_status(&nw->sources);
}

static void notify(msb_config_t *cfg, const unsigned char *changes, msb_config_change_cb cb,
                   void *user)
{
    in_callback = cfg;
    for (size_t i = 0; i < cfg->nkeys && cb != NULL; i++) {
        if (changes[i] != UNCHANGED) {
            cb(user, cfg->keys[i].name,
               changes[i] == APPLIED ? MSB_CONFIG_CHANGE_APPLIED : MSB_CONFIG_CHANGE_NEEDS_RESTART);
        }
    }
    for (size_t w = 0; w < cfg->nwatches; w++) {
        const cfg_watch_t *wt = &cfg->watches[w];
        for (size_t i = 0; i < cfg->nkeys; i++) {
            if (changes[i] == APPLIED &&
                strncmp(cfg->keys[i].name, wt->prefix, wt->prefix_len) == 0) {
                wt->cb(wt->user, cfg->keys[i].name, MSB_CONFIG_CHANGE_APPLIED);
            }
        }
    }
    in_callback = NULL;
}

msb_status_t msb_config_reload(msb_config_t *cfg, msb_config_change_cb cb, void *user,
                               msb_error_t *err)
{
    if (cfg == NULL) {
        return msb__err(err, MSB_EINVAL, "config: cfg is NULL");
    }
    if (in_callback == cfg) {
        return msb__err(err, MSB_EBUSY, "config: msb_config_reload called from a change callback");
    }
    pthread_mutex_lock(&cfg->reload_lock);
    if (!cfg->loaded) {
        pthread_mutex_unlock(&cfg->reload_lock);
        return msb__err(err, MSB_EINVAL, "config: not loaded; call msb_config_load first");
    }
    cfg_build_t b;
    msb_status_t rc = msb__config_build_begin(cfg, &b, err);
    if (rc != MSB_OK) {
        pthread_mutex_unlock(&cfg->reload_lock);
        return rc;
    }
    unsigned char *changes = NULL;
    rc = msb__config_build_all(&b, err);
    if (rc == MSB_OK) {
        changes = msb__calloc(cfg->nkeys, 1);
        if (changes == NULL) {
            msb__err_nomem(err, "the list of changes");
            rc = MSB_ENOMEM;
        }
    }
    if (rc == MSB_OK && changes != NULL && compare(cfg, cfg->snap, b.snap, changes) != MSB_OK) {
        msb__err_nomem(err, "a configuration source");
        rc = MSB_ENOMEM;
    }
    if (rc != MSB_OK) {
        msb__config_build_abort(&b);
        msb__free(changes);
        pthread_mutex_unlock(&cfg->reload_lock);
        return rc;
    }
    msb__config_retain(cfg, b.snap);
    msb__free(b.stamp);
    pthread_rwlock_wrlock(&cfg->lock);
    cfg_snapshot_t *old = cfg->snap;
    cfg->snap = b.snap;
    pthread_rwlock_unlock(&cfg->lock);
    msb__config_snapshot_free(old);
    notify(cfg, changes, cb, user);
    msb__free(changes);
    pthread_mutex_unlock(&cfg->reload_lock);
    return MSB_OK;
}

msb_status_t msb_config_watch(msb_config_t *cfg, const char *prefix, msb_config_change_cb cb,
                              void *user, uint64_t *id, msb_error_t *err)
{
    if (cfg == NULL || prefix == NULL || cb == NULL) {
        return msb__err(err, MSB_EINVAL, "config: cfg, prefix and cb must not be NULL");
    }
    if (in_callback == cfg) {
        return msb__err(err, MSB_EBUSY, "config: msb_config_watch called from a change callback");
    }
    char *copy = msb__strdup(prefix);
    if (copy == NULL) {
        return msb__err_nomem(err, "a watch");
    }
    pthread_mutex_lock(&cfg->reload_lock);
    if (cfg->nwatches == cfg->wcap) {
        size_t cap = cfg->wcap ? cfg->wcap * 2 : 4;
        cfg_watch_t *w = msb__realloc(cfg->watches, cap * sizeof(cfg_watch_t));
        if (w == NULL) {
            pthread_mutex_unlock(&cfg->reload_lock);
            msb__free(copy);
            return msb__err_nomem(err, "a watch");
        }
        cfg->watches = w;
        cfg->wcap = cap;
    }
    uint64_t wid = cfg->next_watch++;
    cfg->watches[cfg->nwatches++] = (cfg_watch_t){wid, copy, strlen(copy), cb, user};
    pthread_mutex_unlock(&cfg->reload_lock);
    if (id != NULL) {
        *id = wid;
    }
    return MSB_OK;
}

msb_status_t msb_config_unwatch(msb_config_t *cfg, uint64_t id)
{
    if (cfg == NULL) {
        return MSB_EINVAL;
    }
    if (in_callback == cfg) {
        return MSB_EBUSY;
    }
    msb_status_t rc = MSB_ENOTFOUND;
    pthread_mutex_lock(&cfg->reload_lock);
    for (size_t i = 0; i < cfg->nwatches; i++) {
        if (cfg->watches[i].id == id) {
            msb__free(cfg->watches[i].prefix);
            memmove(&cfg->watches[i], &cfg->watches[i + 1],
                    (cfg->nwatches - i - 1) * sizeof(cfg_watch_t));
            cfg->nwatches--;
            rc = MSB_OK;
            break;
        }
    }
    pthread_mutex_unlock(&cfg->reload_lock);
    return rc;
}
