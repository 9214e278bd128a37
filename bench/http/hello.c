/*
 * The libmsb side of bench/http: GET / answers {"message":"hello"} as application/json through
 * the default middleware (request id, problem+json errors).
 * Usage: hello HOST:PORT WORKERS [handoff]   (stops gracefully on SIGTERM or SIGINT)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msb/http.h"

static msb_status_t hello(msb_http_req_t *req, void *user)
{
    (void)user;
    static const char body[] = "{\"message\":\"hello\"}";
    return msb_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s HOST:PORT WORKERS [handoff]\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit the mask */

    msb_error_t err = MSB_ERROR_INIT;
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.listen = argv[1];
    o.workers = atoi(argv[2]);
    if (argc == 4 && strcmp(argv[3], "handoff") == 0) {
        o.listen_mode = MSB_HTTP_LISTEN_HANDOFF;
    }
    msb_http_server_t *srv = NULL;
    if (msb_http_server_new(&o, &srv, &err) != MSB_OK ||
        msb_http_route(msb_http_server_root(srv), "GET", "/", hello, NULL, &err) != MSB_OK ||
        msb_http_server_start(srv, &err) != MSB_OK) {
        fprintf(stderr, "hello: %s\n", err.message);
        msb_http_server_free(srv);
        return 1;
    }
    printf("ready %u\n", msb_http_server_port(srv));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    msb_status_t rc = msb_http_server_stop(srv, 5000, &err);
    msb_http_server_free(srv);
    return rc == MSB_OK ? 0 : 1;
}
