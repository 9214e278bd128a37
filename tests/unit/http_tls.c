/* TLS: requests over OpenSSL, HSTS only there, certificate reload, bad files. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "unit/http_test.h"

static char dir[64];
static char cert_path[128];
static char key_path[128];

/* A self-signed certificate for CN=name with the given serial, written to the two paths. */
static void make_cert(const char *name, long serial)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, n);
    cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

typedef struct tls_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} tls_client_t;

static void tls_open(tls_client_t *c, uint16_t port)
{
    c->fd = t_connect(port);
    cr_assert_geq(c->fd, 0);
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    cr_assert_eq(SSL_connect(c->ssl), 1, "handshake");
}

static long peer_serial(tls_client_t *c)
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    long s = ASN1_INTEGER_get(X509_get_serialNumber(x));
    X509_free(x);
    return s;
}

/* Send a request and read one whole response (Content-Length framed) into buf. */
static size_t tls_get(tls_client_t *c, const char *req, char *buf, size_t size)
{
    int w = SSL_write(c->ssl, req, (int)strlen(req));
    cr_assert_gt(w, 0, "TLS write: SSL error %d", SSL_get_error(c->ssl, w));
    size_t len = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strstr(buf, "Content-Length: ");
        if (end != NULL && cl != NULL && len >= (size_t)(end + 4 - buf) + strtoul(cl + 16, 0, 10)) {
            return len;
        }
        int n = SSL_read(c->ssl, buf + len, (int)(size - len - 1));
        cr_assert_gt(n, 0, "TLS read: SSL error %d after %zu bytes: %.*s", SSL_get_error(c->ssl, n),
                     len, (int)len, buf);
        len += (size_t)n;
    }
}

static void tls_close(tls_client_t *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/msb-tls-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
}

static void teardown(void)
{
    unlink(cert_path);
    unlink(key_path);
    rmdir(dir);
}

TestSuite(http_tls, .init = setup, .fini = teardown, .timeout = 30);

Test(http_tls, requests_over_tls_with_hsts_and_reload)
{
    make_cert("one", 1);
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.tls_cert_file = cert_path;
    o.tls_key_file = key_path;
    msb_http_server_t *srv = t_server(&o);
    msb_http_mw_t *sec;
    cr_assert_eq(msb_http_mw_security_new(NULL, &sec, NULL), MSB_OK);
    cr_assert_eq(msb_http_group_use(msb_http_server_root(srv), sec, NULL), MSB_OK);
    msb_http_mw_free(sec);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_start(srv);
    uint16_t port = msb_http_server_port(srv);
    /* the client's writes must fail, not kill the test; the server's threads (started before
     * this, so not inheriting the mask) must protect themselves */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);

    tls_client_t a;
    tls_open(&a, port);
    cr_assert_eq(peer_serial(&a), 1);
    static char buf[16384];
    tls_get(&a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf));
    cr_assert(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", buf);
    cr_assert(strstr(buf, "Strict-Transport-Security: max-age=31536000; includeSubDomains") !=
              NULL);
    cr_assert(strstr(buf, "\r\n\r\nhello") != NULL);

    make_cert("two", 2);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_server_tls_reload(srv, &err), MSB_OK, "%s", err.message);
    tls_client_t b;
    tls_open(&b, port);
    cr_assert_eq(peer_serial(&b), 2, "new connections get the new certificate");
    tls_get(&b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf));
    cr_assert(strstr(buf, "hello") != NULL);
    tls_get(&a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf));
    cr_assert(strstr(buf, "hello") != NULL, "open connections keep working");

    FILE *f = fopen(key_path, "w");
    fputs("not a key\n", f);
    fclose(f);
    cr_assert_eq(msb_http_server_tls_reload(srv, &err), MSB_EIO);
    cr_assert(strstr(err.message, "key") != NULL, "%s", err.message);
    tls_client_t c;
    tls_open(&c, port);
    cr_assert_eq(peer_serial(&c), 2, "a failed reload keeps the old pair");
    tls_close(&c);
    tls_close(&a);
    tls_close(&b);

    /* plain HTTP to a TLS port gets nothing useful, and the server survives */
    t_resp_t r;
    cr_assert_not(t_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(msb_http_server_stop(srv, 1000, NULL), MSB_OK);
    msb_http_server_free(srv);
}

Test(http_tls, bad_configuration)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    msb_http_server_t *srv = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    o.tls_cert_file = cert_path;
    cr_assert_eq(msb_http_server_new(&o, &srv, &err), MSB_EINVAL, "key missing");
    o.tls_key_file = key_path;
    cr_assert_eq(msb_http_server_new(&o, &srv, &err), MSB_EIO, "files missing");
    cr_assert(strstr(err.message, cert_path) != NULL, "%s", err.message);
    make_cert("one", 1);
    char other[160];
    snprintf(other, sizeof(other), "%s/other.pem", dir);
    rename(key_path, other);
    make_cert("two", 2); /* a different key */
    o.tls_key_file = other;
    cr_assert_eq(msb_http_server_new(&o, &srv, &err), MSB_EIO, "key does not match");
    unlink(other);
    msb_http_server_t *plain = t_server(NULL);
    cr_assert_eq(msb_http_server_tls_reload(plain, &err), MSB_EINVAL);
    msb_http_server_free(plain);
}
