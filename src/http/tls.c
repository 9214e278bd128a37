/*
 * TLS through libevent's OpenSSL bufferevents. The context is shared by every worker; a reload
 * builds a new one from the files and swaps it under a lock, so new connections get the new
 * certificate and open ones keep theirs (each SSL holds a reference to its context).
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/error.h"
#include "http/internal.h"

static msb_status_t ssl_fail(msb_error_t *err, SSL_CTX *ctx, const char *what, const char *file)
{
    char reason[160];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return msb__err(err, MSB_EIO, "http.tls: %s %s: %s", what, file, reason);
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    MSB_UNUSED(ssl);
    MSB_UNUSED(arg);
    for (unsigned int i = 0; i + 1 <= inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) {
            break;
        }
        if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

msb_status_t msb__http_tls_load(const char *cert, const char *key, SSL_CTX **out, msb_error_t *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        return msb__err_nomem(err, "a TLS context");
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        return ssl_fail(err, ctx, "certificate", cert);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        return ssl_fail(err, ctx, "private key", key);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        return ssl_fail(err, ctx, "key does not match the certificate:", key);
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    *out = ctx;
    return MSB_OK;
}

void msb__http_tls_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

msb_status_t msb_http_server_tls_reload(msb_http_server_t *srv, msb_error_t *err)
{
    if (srv->cert == NULL) {
        return msb__err(err, MSB_EINVAL, "http.tls: the server was created without TLS");
    }
    SSL_CTX *ctx = NULL;
    msb_status_t rc = msb__http_tls_load(srv->cert, srv->key, &ctx, err);
    if (rc != MSB_OK) {
        return rc;
    }
    pthread_mutex_lock(&srv->tls_lock);
    SSL_CTX *old = srv->tls;
    srv->tls = ctx;
    pthread_mutex_unlock(&srv->tls_lock);
    SSL_CTX_free(old);
    return MSB_OK;
}

static void on_tls_read(struct bufferevent *bev, void *arg)
{
    MSB_UNUSED(bev);
    msb__http_conn_read(arg);
}

static void on_tls_write(struct bufferevent *bev, void *arg)
{
    msb__http_conn_t *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 || c->wlen > c->wsent) {
        return;
    }
    msb__http_conn_hold(c);
    msb__http_conn_drained(c);
    msb__http_conn_unhold(c);
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
    MSB_UNUSED(bev);
    msb__http_conn_t *c = arg;
    msb__http_conn_hold(c);
    if (what & BEV_EVENT_EOF) {
        msb__http_conn_eof(c);
    } else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        msb__http_conn_close(c, MSB_ECANCELED);
    }
    msb__http_conn_unhold(c);
}

bool msb__http_tls_attach(msb__http_conn_t *c)
{
    msb_http_server_t *srv = c->w->srv;
    pthread_mutex_lock(&srv->tls_lock);
    SSL *ssl = SSL_new(srv->tls);
    pthread_mutex_unlock(&srv->tls_lock);
    if (ssl == NULL) {
        return false;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        c->w->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return false;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, on_tls_read, on_tls_write, on_tls_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    c->bev = bev;
    return true;
}
