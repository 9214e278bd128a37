/* Tracer providers, tracers, the global provider and the span clock. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "msb/version.h"
#include "trace/internal.h"

static _Atomic(msb_tracer_provider_t *) global_provider;
static msb_tracer_t noop_tracer = {NULL, NULL, NULL};

/* Wall time is the monotonic reading plus an offset refreshed every second: one clock read per
 * timestamp instead of two, and span durations never go negative when the system clock steps. */
#define OFFSET_REFRESH_NS ((uint64_t)MSB_SEC)

int64_t msb__provider_wall(msb_tracer_provider_t *p, uint64_t mono)
{
    if (!p->offset_clock) {
        return p->clock->realtime_ns(p->clock);
    }
    uint64_t at = atomic_load_explicit(&p->offset_taken_at, memory_order_relaxed);
    if (MSB_UNLIKELY(mono - at >= OFFSET_REFRESH_NS && mono >= at)) {
        int64_t wall = p->clock->realtime_ns(p->clock);
        atomic_store_explicit(&p->wall_offset, wall - (int64_t)mono, memory_order_relaxed);
        atomic_store_explicit(&p->offset_taken_at, mono, memory_order_relaxed);
        return wall;
    }
    return (int64_t)mono + atomic_load_explicit(&p->wall_offset, memory_order_relaxed);
}

static msb_status_t add_resource(msb_tracer_provider_t *p, size_t *n, const msb_attr_t *a,
                                 msb_error_t *err)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(p->resource[i].key.p, a->key) == 0) {
            return msb__attr_copy_chunks(&p->resource_mem, a, &p->resource[i], 0)
                       ? MSB_OK
                       : msb__err_nomem(err, "a resource attribute");
        }
    }
    if (!msb__attr_copy_chunks(&p->resource_mem, a, &p->resource[*n], 0)) {
        return msb__err_nomem(err, "a resource attribute");
    }
    (*n)++;
    return MSB_OK;
}

static msb_status_t build_resource(msb_tracer_provider_t *p, const msb_tracer_provider_opts_t *o,
                                   msb_error_t *err)
{
    size_t extra = MSB_OPT_HAS(o, resource_count) && o->resource != NULL ? o->resource_count : 0;
    for (size_t i = 0; i < extra; i++) {
        if (o->resource[i].key == NULL || o->resource[i].key[0] == '\0' ||
            (unsigned)o->resource[i].type > MSB_ATTR_BOOL_ARRAY) {
            return msb__err(err, MSB_EINVAL, "trace: resource[%zu] has no key or a bad type", i);
        }
    }
    p->resource = msb__calloc(extra + 5, sizeof(msb__attr_t));
    if (p->resource == NULL) {
        return msb__err_nomem(err, "the resource");
    }
    size_t n = 0;
    const char *version = MSB_OPT_HAS(o, service_version) ? o->service_version : NULL;
    msb_attr_t base[5] = {
        MSB_ATTR_STR("service.name", o->service_name),
        MSB_ATTR_STR("telemetry.sdk.name", "libmsb"),
        MSB_ATTR_STR("telemetry.sdk.language", "c"),
        MSB_ATTR_STR("telemetry.sdk.version", msb_version()),
        MSB_ATTR_STR("service.version", version),
    };
    msb_status_t rc = MSB_OK;
    for (size_t i = 0; i < (version != NULL ? 5u : 4u) && rc == MSB_OK; i++) {
        rc = add_resource(p, &n, &base[i], err);
    }
    /* Caller attributes come last and may override all but service.name. */
    for (size_t i = 0; i < extra && rc == MSB_OK; i++) {
        if (strcmp(o->resource[i].key, "service.name") != 0) {
            rc = add_resource(p, &n, &o->resource[i], err);
        }
    }
    p->resource_count = n;
    return rc;
}

static msb_status_t read_samplers(msb_tracer_provider_t *p, const msb_tracer_provider_opts_t *o,
                                  msb_error_t *err)
{
    msb_sampler_t on = MSB_SAMPLER_ON;
    msb_sampler_t off = MSB_SAMPLER_OFF;
    msb__sampler_set_t *s = &p->sampler;
    s->root = MSB_OPT_HAS(o, sampler) ? o->sampler : on;
    s->parent_based = MSB_OPT_HAS(o, parent_based) ? o->parent_based : true;
    s->remote_sampled = MSB_OPT_HAS(o, remote_parent_sampled) ? o->remote_parent_sampled : on;
    s->remote_not_sampled =
        MSB_OPT_HAS(o, remote_parent_not_sampled) ? o->remote_parent_not_sampled : off;
    s->local_sampled = MSB_OPT_HAS(o, local_parent_sampled) ? o->local_parent_sampled : on;
    s->local_not_sampled =
        MSB_OPT_HAS(o, local_parent_not_sampled) ? o->local_parent_not_sampled : off;
    msb_status_t rc = msb__sampler_check(&s->root, "sampler", err);
    if (rc == MSB_OK) {
        rc = msb__sampler_check(&s->remote_sampled, "remote_parent_sampled", err);
    }
    if (rc == MSB_OK) {
        rc = msb__sampler_check(&s->remote_not_sampled, "remote_parent_not_sampled", err);
    }
    if (rc == MSB_OK) {
        rc = msb__sampler_check(&s->local_sampled, "local_parent_sampled", err);
    }
    if (rc == MSB_OK) {
        rc = msb__sampler_check(&s->local_not_sampled, "local_parent_not_sampled", err);
    }
    return rc;
}

static uint32_t opt_u32(uint32_t v, uint32_t def)
{
    return v != 0 ? v : def;
}

static void read_limits(msb_tracer_provider_t *p, const msb_tracer_provider_opts_t *o)
{
    p->max_attrs = MSB_OPT_HAS(o, max_attributes) ? opt_u32(o->max_attributes, 128) : 128;
    p->max_events = MSB_OPT_HAS(o, max_events) ? opt_u32(o->max_events, 128) : 128;
    p->max_links = MSB_OPT_HAS(o, max_links) ? opt_u32(o->max_links, 128) : 128;
    p->max_value_len = MSB_OPT_HAS(o, max_attr_value_len) ? o->max_attr_value_len : 0;
    p->shutdown_timeout_ms =
        MSB_OPT_HAS(o, shutdown_timeout_ms) ? opt_u32(o->shutdown_timeout_ms, 5000) : 5000;
}

static void provider_release(msb_tracer_provider_t *p)
{
    for (size_t i = 0; i < p->ntracers; i++) {
        msb__free(p->tracers[i]->scope_name);
        msb__free(p->tracers[i]->scope_version);
        msb__free(p->tracers[i]);
    }
    msb__free(p->fallback.scope_name);
    msb__free(p->service_name);
    msb__free(p->resource);
    msb__chunks_free(p->resource_mem);
    pthread_mutex_destroy(&p->lock);
    msb__free(p);
}

msb_status_t msb_tracer_provider_new(const msb_tracer_provider_opts_t *opts,
                                     msb_tracer_provider_t **out, msb_error_t *err)
{
    if (opts == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "trace: opts and out must not be NULL");
    }
    if (!MSB_OPT_HAS(opts, service_name) || opts->service_name == NULL ||
        opts->service_name[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "trace: service_name is required");
    }
    msb_tracer_provider_t *p = msb__calloc(1, sizeof(*p));
    if (p == NULL) {
        return msb__err_nomem(err, "a tracer provider");
    }
    pthread_mutex_init(&p->lock, NULL);
    msb_status_t rc = read_samplers(p, opts, err);
    if (rc == MSB_OK) {
        read_limits(p, opts);
        p->service_name = msb__strdup(opts->service_name);
        p->fallback.scope_name = msb__strdup(opts->service_name);
        if (p->service_name == NULL || p->fallback.scope_name == NULL) {
            rc = msb__err_nomem(err, "the service name");
        }
    }
    if (rc == MSB_OK) {
        rc = build_resource(p, opts, err);
    }
    if (rc != MSB_OK) {
        provider_release(p);
        return rc;
    }
    p->fallback.provider = p;
    /* MSB_OPT_HAS takes sizeof of the (pointer) field: intended */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    const msb_clock_t *clock = MSB_OPT_HAS(opts, clock) ? opts->clock : NULL;
    p->clock = clock != NULL ? clock : msb_clock_real();
    p->offset_clock = p->clock == msb_clock_real() || p->clock == msb_clock_coarse();
    uint64_t mono = p->clock->monotonic_ns(p->clock);
    atomic_init(&p->wall_offset, p->clock->realtime_ns(p->clock) - (int64_t)mono);
    atomic_init(&p->offset_taken_at, mono);
    /* MSB_OPT_HAS takes sizeof of the (pointer) field: intended */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    p->processor = MSB_OPT_HAS(opts, processor) ? opts->processor : NULL;
    if (!MSB_OPT_HAS(opts, log_hook) || opts->log_hook) {
        (void)msb_trace_install_log_hook();
    }
    *out = p;
    return MSB_OK;
}

void msb_tracer_provider_free(msb_tracer_provider_t *p)
{
    if (p == NULL) {
        return;
    }
    msb_tracer_provider_t *expected = p;
    atomic_compare_exchange_strong(&global_provider, &expected, NULL);
    if (p->processor != NULL) {
        p->processor->shutdown(p->processor, p->shutdown_timeout_ms);
    }
    provider_release(p);
}

msb_status_t msb_tracer_provider_flush(msb_tracer_provider_t *p, uint32_t timeout_ms)
{
    if (p == NULL || p->processor == NULL) {
        return MSB_OK;
    }
    return p->processor->flush(p->processor, timeout_ms);
}

msb_span_processor_t *msb_tracer_provider_processor(const msb_tracer_provider_t *p)
{
    return p != NULL ? p->processor : NULL;
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

msb_tracer_t *msb_tracer_provider_tracer(msb_tracer_provider_t *p, const char *scope_name,
                                         const char *scope_version)
{
    if (p == NULL) {
        p = msb_trace_global_provider();
        if (p == NULL) {
            return &noop_tracer;
        }
    }
    const char *name = scope_name != NULL ? scope_name : p->service_name;
    msb_tracer_t *found = NULL;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->ntracers && found == NULL; i++) {
        if (str_eq(p->tracers[i]->scope_name, name) &&
            str_eq(p->tracers[i]->scope_version, scope_version)) {
            found = p->tracers[i];
        }
    }
    if (found == NULL && p->ntracers < MSB__TRACER_MAX) {
        msb_tracer_t *t = msb__calloc(1, sizeof(*t));
        char *n = msb__strdup(name);
        char *v = scope_version != NULL ? msb__strdup(scope_version) : NULL;
        if (t != NULL && n != NULL && (scope_version == NULL || v != NULL)) {
            t->provider = p;
            t->scope_name = n;
            t->scope_version = v;
            p->tracers[p->ntracers++] = t;
            found = t;
        } else {
            msb__free(t);
            msb__free(n);
            msb__free(v);
        }
    }
    pthread_mutex_unlock(&p->lock);
    /* Out of memory or too many scopes: spans are still made, under the service's name. */
    return found != NULL ? found : &p->fallback;
}

void msb_trace_set_global_provider(msb_tracer_provider_t *p)
{
    atomic_store(&global_provider, p);
}

msb_tracer_provider_t *msb_trace_global_provider(void)
{
    return atomic_load(&global_provider);
}

msb_tracer_t *msb_trace_tracer(const char *scope_name, const char *scope_version)
{
    return msb_tracer_provider_tracer(NULL, scope_name, scope_version);
}
