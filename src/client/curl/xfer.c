/*
 * The libcurl driver of the HTTP client: the driver table, libcurl's global initialisation, and
 * the options and result of one attempt (shared by the loop transport and the blocking slots).
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "client/curl/curl_int.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/str.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static msb_status_t global_init(msb_error_t *err)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK) {
        return msb__err(err, MSB_EINTERNAL, "client: curl_global_init failed: %s",
                        curl_easy_strerror(global_rc));
    }
    return MSB_OK;
}

static const char *version(void)
{
    return curl_version();
}

/* ---- callbacks ------------------------------------------------------------------------------ */

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    msb__curl_xfer_t *xf = user;
    size_t len = size * n;
    if (xf->x->on_header(xf->x->user, p, len) != 0) {
        xf->aborted = true;
        return 0;
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    msb__curl_xfer_t *xf = user;
    size_t len = size * n;
    if (len > 0 && xf->x->on_body(xf->x->user, p, len) != 0) {
        xf->aborted = true;
        return 0;
    }
    return len;
}

/* ---- options -------------------------------------------------------------------------------- */

/* curl removes a header given as "Name:" and sends an empty one given as "Name;". */
static struct curl_slist *add_line(struct curl_slist *list, const char *line, bool *ok)
{
    const char *colon = strchr(line, ':');
    const char *v = colon != NULL ? colon + 1 : line;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    struct curl_slist *next;
    if (colon != NULL && *v == '\0') {
        char buf[512];
        size_t n = (size_t)(colon - line);
        if (n + 2 > sizeof(buf)) {
            *ok = false;
            return list;
        }
        memcpy(buf, line, n);
        buf[n] = ';';
        buf[n + 1] = '\0';
        next = curl_slist_append(list, buf);
    } else {
        next = curl_slist_append(list, line);
    }
    if (next == NULL) {
        *ok = false;
        return list;
    }
    return next;
}

static msb_status_t build_headers(msb__curl_xfer_t *xf, const msb__client_xfer_t *x,
                                  msb_error_t *err)
{
    bool ok = true;
    struct curl_slist *list = NULL;
    bool has_expect = false;
    for (size_t i = 0; ok && x->headers != NULL && x->headers[i] != NULL; i++) {
        if (strncasecmp(x->headers[i], "expect:", 7) == 0) {
            has_expect = true;
        }
        list = add_line(list, x->headers[i], &ok);
    }
    /* libcurl would add "Expect: 100-continue" to large bodies and wait for the interim
     * response; the request goes out whole unless the caller asked for it. */
    if (ok && x->body != NULL && !has_expect) {
        struct curl_slist *next = curl_slist_append(list, "Expect:");
        ok = next != NULL;
        list = next != NULL ? next : list;
    }
    if (!ok) {
        curl_slist_free_all(list);
        return msb__err_nomem(err, "the request headers");
    }
    xf->headers = list;
    return MSB_OK;
}

static void set_method(CURL *e, const msb__client_xfer_t *x)
{
    bool get = strcmp(x->method, "GET") == 0;
    bool head = strcmp(x->method, "HEAD") == 0;
    bool post = strcmp(x->method, "POST") == 0;
    if (x->body != NULL || post || strcmp(x->method, "PUT") == 0 ||
        strcmp(x->method, "PATCH") == 0) {
        /* A body (possibly empty: Content-Length: 0 for POST/PUT/PATCH without one). */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body != NULL ? x->body : "");
        if (!post) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
        }
    } else if (head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }
}

static void set_tls(CURL *e, const msb__client_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    if (t->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (t->ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->ca_path != NULL) {
        curl_easy_setopt(e, CURLOPT_CAPATH, t->ca_path);
    }
    if (t->cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
    }
    if (t->key_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    }
    if (t->key_password != NULL) {
        curl_easy_setopt(e, CURLOPT_KEYPASSWD, t->key_password);
    }
    if (t->pinned_public_key != NULL) {
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, t->pinned_public_key);
    }
}

msb_status_t msb__curl_setup(msb__curl_xfer_t *xf, const msb__client_xfer_t *x,
                             const msb__client_pool_t *pool, msb_error_t *err)
{
    CURL *e = xf->easy;
    xf->x = x;
    xf->aborted = false;
    xf->errbuf[0] = '\0';
    msb_status_t rc = build_headers(xf, x, err);
    if (rc != MSB_OK) {
        return rc;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, xf);
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, xf->headers);
    set_method(e, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, xf->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)x->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, xf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, xf);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, (long)pool->idle_timeout_s);
    if (pool->max_age_s > 0) {
        curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, (long)pool->max_age_s);
    }
    if (x->max_response > 0) {
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_response);
    }
    if (x->max_redirects > 0) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)x->max_redirects);
    }
    set_tls(e, x->tls);
    return MSB_OK;
}

void msb__curl_release(msb__curl_xfer_t *xf)
{
    curl_slist_free_all(xf->headers);
    xf->headers = NULL;
}

/* ---- results -------------------------------------------------------------------------------- */

static msb__xfer_fail_t classify(CURLcode cc, bool connected)
{
    switch (cc) {
    case CURLE_OK:
        return MSB__XFER_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return MSB__XFER_DNS;
    case CURLE_COULDNT_CONNECT:
        return MSB__XFER_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? MSB__XFER_TIMEOUT : MSB__XFER_CONNECT_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return MSB__XFER_TLS;
    case CURLE_SEND_ERROR:
        return MSB__XFER_SEND;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return MSB__XFER_RECV;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP_RETURNED_ERROR:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return cc == CURLE_UNSUPPORTED_PROTOCOL && !connected ? MSB__XFER_BADURL : MSB__XFER_PROTO;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        return MSB__XFER_ABORTED;
    case CURLE_FILESIZE_EXCEEDED:
        return MSB__XFER_TOOBIG;
    case CURLE_TOO_MANY_REDIRECTS:
        return MSB__XFER_REDIRECTS;
    case CURLE_OUT_OF_MEMORY:
        return MSB__XFER_NOMEM;
    case CURLE_URL_MALFORMAT:
        return MSB__XFER_BADURL;
    default:
        return MSB__XFER_OTHER;
    }
}

void msb__curl_result(msb__curl_xfer_t *xf, CURLcode cc, msb__client_result_t *res)
{
    CURL *e = xf->easy;
    memset(res, 0, sizeof(*res));
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    long connects = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    /* Connected and about to send, or an answer came: the request may have reached the server. */
    bool connected = pretransfer > 0 || code > 0;
    res->fail = classify(cc, connected);
    if (res->fail == MSB__XFER_ABORTED && !xf->aborted) {
        res->fail = MSB__XFER_OTHER; /* a write error of libcurl's own */
    }
    res->http_status = code;
    res->sent = connected && res->fail != MSB__XFER_TLS;
    res->connects = connects;
    if (cc != CURLE_OK) {
        msb__strlcpy(res->detail, xf->errbuf[0] != '\0' ? xf->errbuf : curl_easy_strerror(cc),
                     sizeof(res->detail));
    }
    msb__curl_release(xf);
}

/* ---- the share of a blocking client --------------------------------------------------------- */

typedef struct share {
    CURLSH *sh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
} share_t;

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *user)
{
    MSB_UNUSED(e);
    MSB_UNUSED(access);
    share_t *s = user;
    pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *user)
{
    MSB_UNUSED(e);
    share_t *s = user;
    pthread_mutex_unlock(&s->locks[data]);
}

msb_status_t msb__curl_share_new(void **out, msb_error_t *err)
{
    share_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a curl share");
    }
    s->sh = curl_share_init();
    if (s->sh == NULL) {
        msb__free(s);
        return msb__err_nomem(err, "a curl share");
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(s->locks); i++) {
        pthread_mutex_init(&s->locks[i], NULL);
    }
    curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = s;
    return MSB_OK;
}

void msb__curl_share_free(void *share)
{
    share_t *s = share;
    if (s == NULL) {
        return;
    }
    curl_share_cleanup(s->sh);
    for (size_t i = 0; i < MSB_ARRAY_LEN(s->locks); i++) {
        pthread_mutex_destroy(&s->locks[i]);
    }
    msb__free(s);
}

CURLSH *msb__curl_share_handle(void *share)
{
    return share != NULL ? ((share_t *)share)->sh : NULL;
}

/* ---- the table ------------------------------------------------------------------------------ */

static const msb__client_driver_t driver = {
    .abi = MSB__CLIENT_DRIVER_ABI,
    .global_init = global_init,
    .version = version,
    .loop_new = msb__curl_loop_new,
    .loop_free = msb__curl_loop_free,
    .loop_start = msb__curl_loop_start,
    .loop_cancel = msb__curl_loop_cancel,
    .slot_new = msb__curl_slot_new,
    .slot_free = msb__curl_slot_free,
    .slot_perform = msb__curl_slot_perform,
    .share_new = msb__curl_share_new,
    .share_free = msb__curl_share_free,
};

MSB_INTERNAL const void *msb__client_curl_driver(void);

const void *msb__client_curl_driver(void)
{
    return &driver;
}
