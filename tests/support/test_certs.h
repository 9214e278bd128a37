/*
 * Certificates for TLS tests, made at run time with OpenSSL: a CA, a server certificate for
 * IP 127.0.0.1 only (so "localhost" does not match it), and a client certificate, all signed by
 * the CA, written as PEM files in a fresh temporary directory. Header-only.
 */
#ifndef MSB_TEST_CERTS_H
#define MSB_TEST_CERTS_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct test_certs {
    char dir[64];
    char ca[128];          /* CA certificate */
    char server_cert[128]; /* server certificate (SAN IP:127.0.0.1) */
    char server_key[128];
    char client_cert[128]; /* client certificate (CN=client) */
    char client_key[128];
    char server_pin[128]; /* "sha256//<base64>" of the server's public key */
} test_certs_t;

static X509 *tc_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn, const char *san,
                     bool ca, long serial)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(c, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : c, c, NULL, NULL, 0);
    X509_EXTENSION *bc =
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(c, bc, -1);
    X509_EXTENSION_free(bc);
    if (san != NULL) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        X509_add_ext(c, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(c, signer, EVP_sha256());
    return c;
}

static bool tc_write(const char *path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    bool ok = cert != NULL ? PEM_write_X509(f, cert) == 1
                           : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    fclose(f);
    return ok;
}

static void tc_pin(EVP_PKEY *key, char *out, size_t size)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    unsigned char hash[SHA256_DIGEST_LENGTH];
    SHA256(der, (size_t)n, hash);
    OPENSSL_free(der);
    unsigned char b64[64];
    EVP_EncodeBlock(b64, hash, sizeof(hash));
    snprintf(out, size, "sha256//%s", (const char *)b64);
}

/* Make the files; true on success. */
static bool test_certs_make(test_certs_t *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/msb-certs-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        return false;
    }
    snprintf(t->ca, sizeof(t->ca), "%s/ca.pem", t->dir);
    snprintf(t->server_cert, sizeof(t->server_cert), "%s/server.pem", t->dir);
    snprintf(t->server_key, sizeof(t->server_key), "%s/server.key", t->dir);
    snprintf(t->client_cert, sizeof(t->client_cert), "%s/client.pem", t->dir);
    snprintf(t->client_key, sizeof(t->client_key), "%s/client.key", t->dir);
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *srv_key = EVP_EC_gen("P-256");
    EVP_PKEY *cli_key = EVP_EC_gen("P-256");
    X509 *ca = tc_cert(ca_key, ca_key, NULL, "msb test CA", NULL, true, 1);
    X509 *srv = tc_cert(srv_key, ca_key, ca, "127.0.0.1", "IP:127.0.0.1", false, 2);
    X509 *cli = tc_cert(cli_key, ca_key, ca, "client", NULL, false, 3);
    bool ok = tc_write(t->ca, ca, NULL) && tc_write(t->server_cert, srv, NULL) &&
              tc_write(t->server_key, NULL, srv_key) && tc_write(t->client_cert, cli, NULL) &&
              tc_write(t->client_key, NULL, cli_key);
    tc_pin(srv_key, t->server_pin, sizeof(t->server_pin));
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(cli_key);
    return ok;
}

static void test_certs_remove(test_certs_t *t)
{
    unlink(t->ca);
    unlink(t->server_cert);
    unlink(t->server_key);
    unlink(t->client_cert);
    unlink(t->client_key);
    rmdir(t->dir);
}

#endif
