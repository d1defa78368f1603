// The sockmap counterpart of splice-ref.c for scripts/bench/proxy-cpu.ts: the smallest TCP
// forwarder whose bytes move in the kernel by BPF sockmap redirection (sockmap-bpf.c), to know
// what that path costs against the splice pump. One thread per connection, which only waits
// for the two FINs: a FIN passes on once all the bytes before it are in the other socket's send
// queue. A benchmark tool only: no limits, no timeouts, loopback only; needs root (CAP_BPF).
//   cc -O2 -o sockmap-ref sockmap-ref.c sockmap-bpf.c -lpthread
//   sockmap-ref LISTEN_PORT TARGET_PORT
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "ref-listen.h"
#include "sockmap-bpf.h"

#define SLOTS 1024

static int target_port;
static wn_sockmap M;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t next_pair;

// queued is how many bytes were ever written to fd's send queue: acknowledged plus still queued,
// read twice around the queue so that an ACK in between cannot be counted twice.
static uint64_t queued(int fd) {
  for (;;) {
    struct tcp_info a, b;
    socklen_t la = sizeof a, lb = sizeof b;
    int outq = 0;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &a, &la) != 0 || ioctl(fd, SIOCOUTQ, &outq) != 0 ||
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &b, &lb) != 0)
      return 0;
    if (a.tcpi_bytes_acked == b.tcpi_bytes_acked) return a.tcpi_bytes_acked + (uint64_t)outq;
  }
}

struct way {
  int src, dst;
  uint64_t cookie, base;
  int shut;
};

static void finish_way(struct way *w) {
  // TCP_INFO takes the socket's lock, so the softirq that delivered the FIN (and ran the
  // program on the bytes before it) has finished with src once it returns.
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  getsockopt(w->src, IPPROTO_TCP, TCP_INFO, &ti, &len);
  uint64_t want = wn_sockmap_bytes(&M, w->cookie);
  // The redirected skbs wait in the peer's psock queue until a kernel worker sends them; a FIN
  // passed on before that would cut them off (EPIPE).
  for (int i = 0; i < 200000 && queued(w->dst) - w->base < want; i++) usleep(50);
  shutdown(w->dst, SHUT_WR);
  w->shut = 1;
}

static void *serve(void *arg) {
  int c = (int)(long)arg, u = ref_dial(c, target_port), one = 1;
  if (u < 0) goto out;
  pthread_mutex_lock(&mu);
  uint32_t slot = (next_pair++ % (SLOTS / 2)) * 2;
  pthread_mutex_unlock(&mu);
  struct way ways[2] = {{c, u, wn_socket_cookie(c), queued(u), 0}, {u, c, wn_socket_cookie(u), queued(c), 0}};
  int err = wn_sockmap_add(&M, c, slot, u, slot + 1);
  if (err != 0) {
    fprintf(stderr, "sockmap-ref: add: %s\n", strerror(err));
    goto out;
  }
  // Bytes that arrived before the sockets joined the map wait in the receive queue until the next
  // data_ready; setting SO_RCVLOWAT runs it now (tcp_set_rcvlowat calls tcp_data_ready).
  setsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  setsockopt(u, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  while (!ways[0].shut || !ways[1].shut) {
    struct pollfd p[2] = {{c, POLLRDHUP, 0}, {u, POLLRDHUP, 0}};
    if (ways[0].shut) p[0].fd = -1;
    if (ways[1].shut) p[1].fd = -1;
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    // A reset shows as POLLERR; POLLHUP alone is both FINs, handled as the second RDHUP.
    if ((p[0].revents | p[1].revents) & POLLERR) break;
    for (int i = 0; i < 2; i++)
      if (p[i].revents & POLLRDHUP) finish_way(&ways[i]);
  }
  wn_sockmap_remove(&M, slot, ways[0].cookie);
  wn_sockmap_remove(&M, slot + 1, ways[1].cookie);
out:
  return ref_hangup(c, u);
}

int main(int argc, char **argv) {
  target_port = ref_target(argc, argv, 3, "sockmap-ref LISTEN_PORT TARGET_PORT");
  if (target_port < 0) return 2;
  static char log[65536];
  int err = wn_sockmap_open(&M, SLOTS, log, sizeof log);
  if (err != 0) {
    fprintf(stderr, "sockmap-ref: %s\n%s\n", strerror(err), log);
    return 1;
  }
  return ref_serve("sockmap-ref", atoi(argv[1]), serve);
}
