/*
 * The HTTP server's internal structures, shared by the files of src/http/.
 *
 * Ownership: a server owns its groups, router and workers (struct msb_http_loop); a worker owns
 * its connections; a connection embeds its current request (one at a time: pipelined requests are
 * answered in order, the next one parsed only once the previous response is queued). Everything a
 * worker owns is touched only on its thread; other threads reach it through the mailbox.
 */
#ifndef MSB_HTTP_INTERNAL_H
#define MSB_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/common.h"
#include "http/arena.h"
#include "http/parser.h"
#include "http/router.h"
#include "msb/http.h"

typedef struct msb__http_conn msb__http_conn_t;
typedef struct ssl_ctx_st SSL_CTX;
struct bufferevent;

#define MSB__HTTP_MAX_CHAIN    32
#define MSB__HTTP_READ_INITIAL 4096
#define MSB__HTTP_ARENA_INLINE 2048
#define MSB__HTTP_WRITE_HIGH   (256 * 1024) /* stop reading further requests above this */
#define MSB__HTTP_LINGER_MS    2000
#define MSB__HTTP_RESP_INLINE  8

struct msb_http_mw {
    atomic_int refs;
    msb_http_mw_ops_t ops;
    char *name;
    void *user;
};

struct msb_http_group {
    msb_http_server_t *srv;
    msb_http_group_t *parent;
    msb_http_group_t *next; /* every group of the server */
    char *prefix;           /* full prefix, "" for the root */
    size_t prefix_len;
    msb_http_mw_t *own[MSB__HTTP_MAX_CHAIN];
    size_t nown;
    msb_http_group_opts_t opts;
    /* resolved at start */
    msb_http_mw_t *chain[MSB__HTTP_MAX_CHAIN];
    uint32_t state_off[MSB__HTTP_MAX_CHAIN];
    size_t nchain;
    size_t state_size;
    uint64_t max_body;
    uint32_t handler_timeout_ms;
    int timeout_status;
    uint32_t json_max_depth;
};

typedef struct msb__http_post {
    msb_http_loop_fn fn;
    void *user;
} msb__http_post_t;

struct msb_http_loop {
    msb_http_server_t *srv;
    pthread_t thread;
    struct event_base *base;
    /* mailbox: other threads post, the loop runs */
    msb__http_post_t *posts;
    size_t nposts;
    size_t posts_cap;
    msb__http_post_t *spare; /* the other half of the double buffer */
    size_t spare_cap;
    /* connections */
    msb__http_conn_t *conns;
    msb__http_conn_t *free_conns;
    /* cached "Date: …\r\n" */
    int64_t date_sec;
    size_t date_len;
    /* routing scratch */
    void *segs;
    char *scratch;
    /* counters read by other threads */
    atomic_uint_fast64_t st_conns;
    atomic_uint_fast64_t st_inflight;
    atomic_uint_fast64_t st_total;
    pthread_mutex_t mlock;
    struct event listen_ev;
    struct event mbox_ev;
    struct event drain_ev;
    struct event accept_timer; /* retries accepting after a pause (limit, EMFILE) */
    int index;
    int listen_fd;
    int efd;
    uint32_t nconns; /* live (not dead) connections */
    uint32_t nfree;
    uint32_t rr; /* handoff round-robin */
    bool thread_started;
    bool listen_owned;
    bool listen_added;
    bool accept_paused;
    bool signalled;
    bool draining;
    bool forced;
    bool drain_added;
    bool accept_timer_added;
    char date[48];
};

struct msb_http_server {
    msb_http_server_opts_t o;
    char *listen;
    char *cert;
    char *key;
    int *adopted;
    size_t nadopted;
    msb__http_limits_t lim;
    msb__http_router_t *router;
    msb_http_group_t *root;
    int nworkers;
    msb_http_loop_t *workers;
    uint16_t port;
    bool started;
    bool stopped;
    atomic_uint conns; /* for max_connections */
    pthread_mutex_t tls_lock;
    SSL_CTX *tls;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int running; /* workers whose loop has not exited */
    atomic_bool any_forced;
    atomic_bool stop_requested;
    atomic_uint stop_ms;
};

/* A response header: name and value in the request arena (or static), lengths kept. */
typedef struct msb__http_rh {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} msb__http_rh_t;

enum { MSB__RESP_NONE = 0, MSB__RESP_HOOKS, MSB__RESP_STREAM, MSB__RESP_DONE };

struct msb_http_req {
    msb__http_conn_t *conn;
    msb_http_loop_t *loop;
    msb__http_head_t head;
    char *base;  /* message start: rbuf + rpos, stable while the request lives */
    bool parsed; /* head is valid */
    bool early;  /* answered by the server before routing */
    int method;
    const msb__http_route_t *route;
    uint32_t allow; /* methods the path answers (CORS preflights, 405) */
    msb_http_group_t *group;
    msb_http_handler_fn handler;
    void *handler_user;
    const char *params[MSB__HTTP_MAX_PARAMS];
    char *host;
    /* body */
    char *body;
    size_t body_len;
    uint64_t body_limit;
    bool body_done;
    uint64_t start_ns;
    uint64_t deadline_ns;
    char id[132];
    uint8_t id_len;
    /* middleware */
    char *mw_state;
    uint32_t mw_next;
    uint32_t mw_ran;
    bool paused;
    bool in_handler;
    /* response */
    int status;
    uint8_t resp;
    bool deferred;
    bool owed; /* a deferred handler still has to answer */
    bool aborted;
    bool head_only;
    bool chunked_out;
    bool hooks_done;
    bool counted;   /* in the in-flight gauge */
    bool keep_owed; /* the server answered for a deferred handler that still owes its answer */
    msb__http_rh_t *hdrs;
    uint32_t nhdrs;
    uint32_t hcap;
    msb__http_rh_t hinl[MSB__HTTP_RESP_INLINE];
    const char *rbody;
    size_t rbody_len;
    msb_http_abort_fn on_abort;
    void *abort_user;
    msb_http_drain_fn on_drain;
    void *drain_user;
};

enum {
    MSB__C_IDLE = 0, /* between requests */
    MSB__C_HEAD,     /* reading a head */
    MSB__C_BODY,     /* reading a body */
    MSB__C_ACTIVE,   /* middleware paused, handler deferred or streaming */
    MSB__C_LINGER,   /* response sent, write side shut, discarding input */
    MSB__C_CLOSED
};

enum { MSB__T_NONE = 0, MSB__T_IDLE, MSB__T_HEAD, MSB__T_BODY, MSB__T_HANDLER, MSB__T_LINGER };

struct msb__http_conn {
    msb__http_conn_t *prev;
    msb__http_conn_t *next;
    msb_http_loop_t *w;
    int fd;
    struct bufferevent *bev; /* TLS */
    struct event rev;
    struct event wev;
    struct event tev;
    bool rev_added;
    bool wev_added;
    bool tev_added;
    bool tls;
    uint8_t state;
    bool keep_alive;
    bool close_after; /* close once the output is flushed */
    bool linger;      /* shut down the write side and drain input before closing */
    bool in_process;
    bool dead; /* closed, kept only for a deferred handler that still owes an answer */
    bool peer_eof;
    int busy; /* entry points on the stack; the connection is released at 0 once closed */
    bool chunked_body;
    bool direct_body; /* Content-Length body read straight into body_buf */
    /* input */
    char *rbuf;
    uint32_t rcap;
    uint32_t rlen;
    uint32_t rpos;     /* start of the current message */
    uint32_t next_msg; /* where the next message starts, once the body is read */
    int saved;         /* byte replaced by the body's NUL, or -1 */
    msb__http_parser_t parser;
    msb__http_chunked_t chunked;
    msb__http_field_t *fields;
    char *body_buf;
    size_t body_cap;
    size_t linger_bytes;
    /* output */
    char *wbuf;
    size_t wcap;
    size_t wlen;
    size_t wsent;
    /* timers (monotonic ms) */
    uint64_t deadline;
    uint8_t deadline_kind;
    uint64_t write_deadline;
    uint64_t timer_at;
    /* peer */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char peer_ip[48];
    msb__arena_t arena;
    msb_http_req_t req;
    char arena_inl[MSB__HTTP_ARENA_INLINE];
};

/* A counter written by its worker only and read by any thread: no atomic read-modify-write. */
static inline void msb__http_stat_add(atomic_uint_fast64_t *s, int64_t d)
{
    uint64_t v = atomic_load_explicit(s, memory_order_relaxed);
    atomic_store_explicit(s, v + (uint64_t)d, memory_order_relaxed);
}

/* ---- worker (worker.c, listen.c) ---- */
MSB_INTERNAL msb_status_t msb__http_workers_start(msb_http_server_t *srv, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__http_listen_all(msb_http_server_t *srv, msb_error_t *err);
MSB_INTERNAL void msb__http_worker_accept_resume(msb_http_loop_t *w);
MSB_INTERNAL void msb__http_worker_conn_gone(msb_http_loop_t *w);
MSB_INTERNAL const char *msb__http_date(msb_http_loop_t *w, size_t *len);
MSB_INTERNAL uint64_t msb__http_now_ms(void);

/* ---- connection (conn.c, conn_io.c, conn_timer.c, body.c) ---- */
MSB_INTERNAL void msb__http_conn_new(msb_http_loop_t *w, int fd, const struct sockaddr *sa,
                                     socklen_t salen);
MSB_INTERNAL void msb__http_conn_process(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_read(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_flush(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_close(msb__http_conn_t *c, msb_status_t why);
MSB_INTERNAL void msb__http_conn_release(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_pause_reading(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_linger_read(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_resume_reading(msb__http_conn_t *c);

static inline void msb__http_conn_hold(msb__http_conn_t *c)
{
    c->busy++;
}

/* Drop a hold; the last one releases a closed connection. */
static inline void msb__http_conn_unhold(msb__http_conn_t *c)
{
    if (--c->busy == 0 && c->state == MSB__C_CLOSED) {
        msb__http_conn_release(c);
    }
}
MSB_INTERNAL void msb__http_conn_drained(msb__http_conn_t *c);
MSB_INTERNAL size_t msb__http_conn_pending(const msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_eof(msb__http_conn_t *c);
MSB_INTERNAL char *msb__http_conn_wreserve(msb__http_conn_t *c, size_t n);
MSB_INTERNAL void msb__http_conn_arm(msb__http_conn_t *c, uint8_t kind, uint32_t ms);
MSB_INTERNAL void msb__http_conn_write_armed(msb__http_conn_t *c, bool blocked);
MSB_INTERNAL void msb__http_conn_timer_init(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_free(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_conn_drain_stop(msb__http_conn_t *c);
MSB_INTERNAL bool msb__http_body_start(msb_http_req_t *req);
MSB_INTERNAL void msb__http_body_feed(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_body_end(msb__http_conn_t *c);
MSB_INTERNAL ssize_t msb__http_conn_recv(msb__http_conn_t *c, void *buf, size_t n);

/* ---- TLS (tls.c) ---- */
MSB_INTERNAL msb_status_t msb__http_tls_load(const char *cert, const char *key, SSL_CTX **out,
                                             msb_error_t *err);
MSB_INTERNAL void msb__http_tls_free(SSL_CTX *ctx);
MSB_INTERNAL bool msb__http_tls_attach(msb__http_conn_t *c);

/* ---- requests (dispatch.c, chain.c, response.c, problem.c) ---- */
MSB_INTERNAL void msb__http_req_begin(msb__http_conn_t *c);
MSB_INTERNAL void msb__http_req_early(msb__http_conn_t *c, int status, const char *detail);
MSB_INTERNAL void msb__http_chain_run(msb_http_req_t *req);
MSB_INTERNAL void msb__http_invoke(msb_http_req_t *req);
MSB_INTERNAL void msb__http_req_finish(msb_http_req_t *req);
MSB_INTERNAL void msb__http_req_abort(msb_http_req_t *req, msb_status_t why);
MSB_INTERNAL void msb__http_req_timeout(msb_http_req_t *req);
MSB_INTERNAL void msb__http_run_complete(msb_http_req_t *req);
MSB_INTERNAL void msb__http_run_response(msb_http_req_t *req);
MSB_INTERNAL bool msb__http_answered_late(msb_http_req_t *req, msb_status_t *rc);
MSB_INTERNAL void msb__http_settle(msb__http_conn_t *c);
MSB_INTERNAL bool msb__http_serialize(msb_http_req_t *req, bool stream);
MSB_INTERNAL msb_status_t msb__http_resp_begin(msb_http_req_t *req, int status,
                                               const char *content_type, const void *body,
                                               size_t len);
MSB_INTERNAL size_t msb__http_status_line(int status, char *buf);
MSB_INTERNAL int msb__http_status_of(msb_status_t rc);
MSB_INTERNAL const char *msb__http_reason(int status);
MSB_INTERNAL msb_status_t msb__http_problem(msb_http_req_t *req, int status, const char *detail,
                                            const char *errors_json, size_t errors_len);
/* Copy n bytes to p and return the end (output buffers are lengths, not C strings). */
static inline char *msb__http_put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* A problem response without an errors member. */
static inline msb_status_t msb__http_fail(msb_http_req_t *req, int status, const char *detail)
{
    return msb__http_problem(req, status, detail, NULL, 0);
}
/* Add a header whose strings outlive the request (no copy, no validation). */
MSB_INTERNAL msb_status_t msb__http_resp_header_static(msb_http_req_t *req, const char *name,
                                                       size_t nlen, const char *value, size_t vlen);
MSB_INTERNAL msb_status_t msb__http_resp_header_copy(msb_http_req_t *req, const char *name,
                                                     size_t nlen, const char *value, size_t vlen);
MSB_INTERNAL const msb__http_field_t *msb__http_req_field(const msb_http_req_t *req, uint16_t id);
/* Replace the body during on_response with memory that outlives the response (no copy). */
MSB_INTERNAL void msb__http_resp_body_static(msb_http_req_t *req, const void *body, size_t len);

/* ---- groups (group.c) ---- */
MSB_INTERNAL msb_status_t msb__http_groups_resolve(msb_http_server_t *srv, msb_error_t *err);
MSB_INTERNAL void msb__http_groups_free(msb_http_server_t *srv);
MSB_INTERNAL msb_http_group_t *msb__http_group_for_path(msb_http_server_t *srv, const char *path,
                                                        size_t len);

#endif
