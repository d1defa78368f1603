// The reference for the splice pump (native/src/splice.c) in scripts/bench/proxy-cpu.ts: the
// smallest TCP forwarder that moves bytes with splice(2), to know what a second connection costs
// on this machine without any of the pump's machinery. One thread per direction, blocking
// sockets; `copy` as the fourth argument moves the bytes with read/write instead. A benchmark
// tool only: no limits, no timeouts, loopback only.
//   cc -O2 -o splice-ref splice-ref.c -lpthread
//   splice-ref LISTEN_PORT TARGET_PORT PIPE_BYTES [copy]
#define _GNU_SOURCE
#include <fcntl.h>

#include "ref-listen.h"

#define CHUNK (256 * 1024)

static int target_port, pipe_bytes, copy_mode;

struct way {
  int src, dst;
};

static void move_copy(const struct way *w) {
  static __thread char buf[CHUNK];
  for (;;) {
    ssize_t n = read(w->src, buf, sizeof buf);
    if (n <= 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t m = write(w->dst, buf + off, (size_t)(n - off));
      if (m <= 0) return;
      off += m;
    }
  }
}

static void move_splice(const struct way *w) {
  int p[2];
  if (pipe(p) != 0) return;
  if (pipe_bytes > 0) (void)fcntl(p[1], F_SETPIPE_SZ, pipe_bytes);
  for (;;) {
    ssize_t n = splice(w->src, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
    if (n <= 0) break;
    while (n > 0) {
      ssize_t m = splice(p[0], NULL, w->dst, NULL, (size_t)n, SPLICE_F_MOVE);
      if (m <= 0) goto out;
      n -= m;
    }
  }
out:
  close(p[0]);
  close(p[1]);
}

static void *pump(void *arg) {
  struct way *w = arg;
  if (copy_mode) move_copy(w);
  else move_splice(w);
  shutdown(w->dst, SHUT_WR);
  return NULL;
}

static void *serve(void *arg) {
  int c = (int)(long)arg, u = ref_dial(c, target_port);
  if (u >= 0) {
    struct way ab = {c, u}, ba = {u, c};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, pump, &ab);
    pthread_create(&t2, NULL, pump, &ba);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
  }
  return ref_hangup(c, u);
}

int main(int argc, char **argv) {
  target_port = ref_target(argc, argv, 4, "splice-ref LISTEN_PORT TARGET_PORT PIPE_BYTES [copy]");
  if (target_port < 0) return 2;
  pipe_bytes = atoi(argv[3]);
  copy_mode = argc > 4 && strcmp(argv[4], "copy") == 0;
  return ref_serve("splice-ref", atoi(argv[1]), serve);
}
