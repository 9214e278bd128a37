/*
 * Listening sockets. In SO_REUSEPORT mode every worker has its own socket bound to the same
 * address and the kernel spreads new connections over them (no shared accept queue, no lock, no
 * thundering herd); in handoff mode worker 0 alone listens and passes connections on.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/str.h"
#include "http/internal.h"

typedef struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
} addr_t;

static msb_status_t parse_listen(const char *s, addr_t *a, msb_error_t *err)
{
    char host[256];
    const char *port;
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host)) {
            return msb__err(err, MSB_EINVAL, "http.listen: \"%s\" is not [v6]:port", s);
        }
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
            return msb__err(err, MSB_EINVAL, "http.listen: \"%s\" is not host:port", s);
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    uint64_t p;
    if (msb__parse_u64(port, strlen(port), &p) != MSB_OK || p > 65535) {
        return msb__err(err, MSB_EINVAL, "http.listen: \"%s\": port is not 0..65535", s);
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        return msb__err(err, MSB_EINVAL, "http.listen: \"%s\": %s", s, gai_strerror(rc));
    }
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    freeaddrinfo(res);
    return MSB_OK;
}

static void set_port(addr_t *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    }
}

static uint16_t port_of(int fd)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return 0;
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static msb_status_t open_one(const addr_t *a, bool reuseport, int backlog, int *out,
                             const char *what, msb_error_t *err)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return msb__err(err, MSB_EIO, "http.listen %s: socket: errno %d", what, errno);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        close(fd);
        return msb__err(err, MSB_EIO, "http.listen %s: SO_REUSEPORT: errno %d", what, errno);
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        int e = errno;
        close(fd);
        return msb__err(err, MSB_EIO, "http.listen %s: bind: %s", what,
                        e == EADDRINUSE ? "address in use" : "failed");
    }
    if (listen(fd, backlog) != 0) {
        close(fd);
        return msb__err(err, MSB_EIO, "http.listen %s: listen: errno %d", what, errno);
    }
    *out = fd;
    return MSB_OK;
}

static msb_status_t adopt(msb_http_server_t *srv, msb_error_t *err)
{
    for (size_t i = 0; i < srv->nadopted; i++) {
        int fd = srv->adopted[i];
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
            return msb__err(err, MSB_EINVAL, "http.listen_fds: %d is not an open socket", fd);
        }
        srv->workers[i].listen_fd = fd;
    }
    srv->port = port_of(srv->adopted[0]);
    if (srv->nadopted == 1) {
        srv->o.listen_mode = MSB_HTTP_LISTEN_HANDOFF;
    }
    return MSB_OK;
}

msb_status_t msb__http_listen_all(msb_http_server_t *srv, msb_error_t *err)
{
    if (srv->nadopted > 0) {
        return adopt(srv, err);
    }
    addr_t a;
    memset(&a, 0, sizeof(a));
    msb_status_t rc = parse_listen(srv->listen, &a, err);
    if (rc != MSB_OK) {
        return rc;
    }
    bool reuseport = srv->o.listen_mode == MSB_HTTP_LISTEN_REUSEPORT && srv->nworkers > 1;
    int n = reuseport ? srv->nworkers : 1;
    for (int i = 0; i < n; i++) {
        rc = open_one(&a, reuseport, srv->o.backlog, &srv->workers[i].listen_fd, srv->listen, err);
        if (rc != MSB_OK) {
            return rc;
        }
        srv->workers[i].listen_owned = true;
        if (i == 0) {
            srv->port = port_of(srv->workers[0].listen_fd);
            set_port(&a, srv->port); /* port 0: the others bind the port the first one got */
        }
    }
    return MSB_OK;
}
