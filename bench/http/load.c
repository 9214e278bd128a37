/*
 * A fixed-count load generator for profiling (callgrind wants a known number of requests):
 * CONNS keep-alive connections, each sending GET / and waiting for the answer, N in total.
 * Usage: load PORT N CONNS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: load PORT N CONNS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long n = atol(argv[2]);
    int conns = atoi(argv[3]);
    struct pollfd *p = calloc((size_t)conns, sizeof(*p));
    static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    long sent = 0;
    long done = 0;
    for (int i = 0; i < conns; i++) {
        p[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(p[i].fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            perror("connect");
            return 1;
        }
        p[i].events = POLLIN;
        if (sent < n && write(p[i].fd, req, sizeof(req) - 1) > 0) {
            sent++;
        }
    }
    char buf[4096];
    while (done < n) {
        if (poll(p, (nfds_t)conns, 5000) <= 0) {
            fprintf(stderr, "stalled after %ld answers\n", done);
            return 1;
        }
        for (int i = 0; i < conns; i++) {
            if (!(p[i].revents & POLLIN)) {
                continue;
            }
            ssize_t k = read(p[i].fd, buf, sizeof(buf));
            if (k <= 0) {
                fprintf(stderr, "connection closed after %ld answers\n", done);
                return 1;
            }
            /* one small answer per read on an unloaded loopback */
            done++;
            if (sent < n && write(p[i].fd, req, sizeof(req) - 1) > 0) {
                sent++;
            }
        }
    }
    printf("%ld answers\n", done);
    return 0;
}
