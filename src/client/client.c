/*
 * Clients: the options, the curl plugin's driver, libcurl's global initialisation, and the
 * split between loop clients (loop.c) and blocking clients (blocking.c).
 */
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/driver.h"
#include "core/error.h"
#include "msb/version.h"

#define MSB_STR_(x) #x
#define MSB_STR(x)  MSB_STR_(x)
#define DEFAULT_UA                                                                                 \
    "libmsb/" MSB_STR(MSB_VERSION_MAJOR) "." MSB_STR(MSB_VERSION_MINOR) "." MSB_STR(               \
        MSB_VERSION_PATCH)

msb_status_t msb__client_driver(const msb__client_driver_t **out, msb_error_t *err)
{
    const void *p = NULL;
    msb_status_t rc = msb__driver_get("client", "curl", &p, err);
    if (rc != MSB_OK) {
        return msb__err_prefix(err, rc, "client: ");
    }
    const msb__client_driver_t *d = p;
    if (d->abi != MSB__CLIENT_DRIVER_ABI) {
        return msb__err(err, MSB_ENOTSUP, "client: the curl plugin has driver ABI %u, expected %d",
                        d->abi, MSB__CLIENT_DRIVER_ABI);
    }
    rc = d->global_init(err);
    if (rc != MSB_OK) {
        return rc;
    }
    *out = d;
    return MSB_OK;
}

msb_status_t msb_client_global_init(msb_error_t *err)
{
    const msb__client_driver_t *d = NULL;
    return msb__client_driver(&d, err);
}

static msb_status_t check_count(const char *field, uint32_t v, msb_error_t *err)
{
    if (v >= 1 && v <= 100000) {
        return MSB_OK;
    }
    return msb__err(err, MSB_EINVAL, "client: %s %u is not in 1..100000", field, v);
}

static msb_status_t check_opts(const msb_client_opts_t *o, msb_error_t *err)
{
    msb_status_t rc = check_count("max_connections", o->max_connections, err);
    if (rc == MSB_OK) {
        rc = check_count("max_host_connections", o->max_host_connections, err);
    }
    if (rc == MSB_OK) {
        rc = check_count("max_idle_connections", o->max_idle_connections, err);
    }
    if (rc == MSB_OK && o->idle_timeout_ns < (uint64_t)MSB_SEC) {
        rc = msb__err(err, MSB_EINVAL, "client: idle_timeout_ns %llu is under 1 s",
                      (unsigned long long)o->idle_timeout_ns);
    }
    if (rc == MSB_OK && o->max_connection_age_ns != 0 &&
        o->max_connection_age_ns < (uint64_t)MSB_SEC) {
        rc = msb__err(err, MSB_EINVAL, "client: max_connection_age_ns %llu is under 1 s (or 0)",
                      (unsigned long long)o->max_connection_age_ns);
    }
    const char *dh = o->deadline_header;
    if (rc == MSB_OK && dh != NULL && dh[0] != '\0' &&
        !msb__client_token(dh, strlen(dh), MSB__CLIENT_MAX_NAME)) {
        rc =
            msb__err(err, MSB_EINVAL, "client: deadline_header \"%.40s\" is not an HTTP token", dh);
    }
    const char *ua = o->user_agent;
    for (size_t i = 0; rc == MSB_OK && ua != NULL && ua[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)ua[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            rc = msb__err(err, MSB_EINVAL, "client: user_agent holds a control character");
        }
    }
    if (rc == MSB_OK && (o->trace_formats & ~7u) != 0) {
        rc = msb__err(err, MSB_EINVAL, "client: trace_formats 0x%x has unknown bits",
                      o->trace_formats);
    }
    return rc;
}

static uint32_t seconds(uint64_t ns)
{
    uint64_t s = ns / (uint64_t)MSB_SEC;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static msb_status_t read_opts(msb_client_t *c, const msb_client_opts_t *o, msb_error_t *err)
{
    c->base = o->base;
    c->clock = o->clock;
    c->tracer = o->tracer;
    c->trace_formats = o->trace_formats;
    c->pool.max_connections = o->max_connections;
    c->pool.max_host_connections = o->max_host_connections;
    c->pool.max_idle = o->max_idle_connections;
    c->pool.idle_timeout_s = seconds(o->idle_timeout_ns);
    c->pool.max_age_s = seconds(o->max_connection_age_ns);
    const char *dh = o->deadline_header != NULL ? o->deadline_header : MSB_CLIENT_DEADLINE_HEADER;
    if (dh[0] != '\0' && (c->deadline_header = msb__strdup(dh)) == NULL) {
        return msb__err_nomem(err, "a client");
    }
    const char *ua = o->user_agent != NULL ? o->user_agent : DEFAULT_UA;
    if (ua[0] != '\0' && (c->user_agent = msb__strdup(ua)) == NULL) {
        return msb__err_nomem(err, "a client");
    }
    if (o->defaults != NULL) {
        c->defaults = (msb_client_upstream_t *)o->defaults;
        return MSB_OK;
    }
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.no_breaker = true;
    uo.no_bulkhead = true;
    msb_status_t rc = msb_client_upstream_new(&uo, &c->defaults, err);
    c->own_defaults = rc == MSB_OK;
    return rc;
}

msb_status_t msb_client_new(const msb_client_opts_t *opts, msb_client_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "client: out must not be NULL");
    }
    msb_client_opts_t o = MSB_CLIENT_OPTS_INIT;
    if (opts != NULL) {
        size_t n = opts->size < sizeof(o) ? opts->size : sizeof(o);
        memcpy(&o, opts, n);
    }
    msb_status_t rc = check_opts(&o, err);
    if (rc != MSB_OK) {
        return rc;
    }
    const msb__client_driver_t *drv = NULL;
    rc = msb__client_driver(&drv, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_client_t *c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return msb__err_nomem(err, "a client");
    }
    c->drv = drv;
    rc = read_opts(c, &o, err);
    if (rc == MSB_OK) {
        rc = c->base != NULL ? msb__client_loop_init(c, err) : msb__client_blocking_init(c, err);
    }
    if (rc != MSB_OK) {
        if (c->own_defaults) {
            msb_client_upstream_free(c->defaults);
        }
        msb__free(c->deadline_header);
        msb__free(c->user_agent);
        msb__free(c);
        return rc;
    }
    *out = c;
    return MSB_OK;
}

void msb_client_free(msb_client_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->base != NULL) {
        msb__client_loop_fini(c);
    } else {
        msb__client_blocking_fini(c);
    }
    if (c->own_defaults) {
        msb_client_upstream_free(c->defaults);
    }
    msb__free(c->deadline_header);
    msb__free(c->user_agent);
    msb__free(c);
}
