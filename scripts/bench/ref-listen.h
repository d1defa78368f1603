// What the standalone reference forwarders (splice-ref.c, sockmap-ref.c) share: the loopback
// listener that announces its port as one JSON line on stdout (what scripts/bench/forwarders.ts
// and the tests wait for), an accept loop that serves every connection on a detached thread of
// its own, and the connection to the target. A benchmark tool only: no limits, no timeouts,
// loopback only.
#ifndef WARREN_REF_LISTEN_H
#define WARREN_REF_LISTEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
// linux/tcp.h rather than netinet/tcp.h: sockmap-ref.c reads tcp_info fields glibc's copy lacks
// (tcpi_bytes_acked), and the two headers cannot both be included.
#include <linux/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// ref_target checks that there are at least `need` arguments (LISTEN_PORT TARGET_PORT first) and
// returns the target port, or -1 after the usage line on stderr.
static int ref_target(int argc, char **argv, int need, const char *usage) {
  if (argc < need) {
    fprintf(stderr, "usage: %s\n", usage);
    return -1;
  }
  return atoi(argv[2]);
}

// ref_dial connects to the target on loopback and, as the pump does, turns Nagle's delay off on
// both sockets of the pair. It returns the target socket, or -1 (nothing left open).
static int ref_dial(int client, int target_port) {
  int u = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(target_port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (u < 0) return -1;
  if (connect(u, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(u);
    return -1;
  }
  setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return u;
}

// ref_hangup closes a served pair (u may be -1: the target never answered); a thread's end.
static void *ref_hangup(int client, int u) {
  if (u >= 0) close(u);
  close(client);
  return NULL;
}

// ref_serve listens on 127.0.0.1:port, prints {"listening":port}, and runs serve(fd) on a
// detached thread for every accepted connection, for ever. It returns 1 (after "NAME: listen:
// why" on stderr) only if it cannot listen.
static int ref_serve(const char *name, int port, void *(*serve)(void *)) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 128) != 0) {
    fprintf(stderr, "%s: listen: %s\n", name, strerror(errno));
    return 1;
  }
  printf("{\"listening\":%d}\n", port);
  fflush(stdout);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) continue;
    pthread_t t;
    if (pthread_create(&t, NULL, serve, (void *)(long)c) == 0) pthread_detach(t);
    else close(c);
  }
}

#endif
