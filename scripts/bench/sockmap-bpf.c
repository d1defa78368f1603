// The sockmap verdict program and its maps, with the raw bpf(2) system call (see
// sockmap-bpf.h). A socket in a BPF_MAP_TYPE_SOCKMAP that has a BPF_SK_SKB_VERDICT program
// attached hands every skb it receives to the program (net/core/skmsg.c, the verdict-only
// path: tcp_read_skb from the socket's data_ready); bpf_sk_redirect_map with flags 0 queues the
// skb on the target socket's psock, whose worker sends it out of that socket. The proxied bytes
// therefore go from one socket's receive queue to the other's send queue in the kernel, with
// no system call and no wake-up of any user thread (Documentation/bpf/map_sockmap.rst).
//
// Two socket maps, not one: a socket's input is redirected only once it is in `sources`, and
// the redirect needs its peer already in `targets` (else the helper drops the skb, after TCP
// acknowledged it). Both sockets go into `targets` first, then into `sources`, so no skb can
// meet a missing peer. The kernel takes a closed socket out of every map it is in.
#include "sockmap-bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

static int map_create(uint32_t type, uint32_t key, uint32_t value, uint32_t entries) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = entries;
  return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, const void *key, const void *value, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  a.flags = flags;
  return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) == 0 ? 0 : errno;
}

static void map_delete(int fd, const void *key) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  (void)sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

#define INSN(code, dst, src, off, imm) ((struct bpf_insn){(code), (dst), (src), (off), (imm)})
// A 64-bit load of a map's address: two instructions, the map's descriptor in the first.
#define LD_MAP(dst, fd)                                                                         \
  INSN(BPF_LD | BPF_DW | BPF_IMM, (dst), BPF_PSEUDO_MAP_FD, 0, (fd)), INSN(0, 0, 0, 0, 0)

static int load_prog(const wn_sockmap *m, char *log, uint32_t log_size) {
  // The verdict for one skb received on a socket in `sources`:
  //   an empty skb (a FIN alone; TCP has already taken note of it): drop it, since sending an
  //     empty skb fails in the target's psock worker, which then stops sending for good (EPIPE);
  //   peer = peers[cookie(sk)]; none (the pair is being taken apart): pass, the skb stays with
  //     its own socket;
  //   peer->bytes += skb->len; return bpf_sk_redirect_map(skb, targets, peer->slot, 0).
  const struct bpf_insn insns[] = {
      INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),        // r6 = skb
      INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_7, BPF_REG_6, 0, 0),           // r7 = skb->len
      INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_7, 0, 18, 0),                  // empty: to "drop"
      INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),         // r0 = cookie(skb->sk)
      INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, -8, 0),        // key on the stack
      INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),        // r2 = &key
      INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),                //
      LD_MAP(BPF_REG_1, m->peers),                                           // r1 = peers
      INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),           // r0 = &peers[key]
      INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 8, 0),                   // none: to "pass"
      INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_7, 8, BPF_ADD), // peer->bytes += len
      INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_0, 0, 0),           // r3 = peer->slot
      INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),         // r1 = skb
      LD_MAP(BPF_REG_2, m->targets),                                         // r2 = targets
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0),                 // r4 = 0: egress
      INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_map),           // r0 = SK_PASS/DROP
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                                  //
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS),           // pass:
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                                  //
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_DROP),           // drop:
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                                  //
  };
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SK_SKB;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = sizeof insns / sizeof insns[0];
  // No GPL-only helper is called, so the license string does not matter to the kernel.
  a.license = (uint64_t)(uintptr_t) "Proprietary";
  if (log != NULL && log_size > 0) {
    log[0] = '\0';
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = log_size;
    a.log_level = 1;
  }
  memcpy(a.prog_name, "warren_sockmap", sizeof "warren_sockmap");
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0 && errno == ENOSPC && log != NULL) {
    // The log did not fit: load again without one, the program is what matters.
    a.log_buf = 0;
    a.log_size = 0;
    a.log_level = 0;
    fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  }
  return fd;
}

void wn_sockmap_close(wn_sockmap *m) {
  int *fds[] = {&m->prog, &m->sources, &m->targets, &m->peers};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

int wn_sockmap_open(wn_sockmap *m, uint32_t slots, char *log, uint32_t log_size) {
  *m = (wn_sockmap){-1, -1, -1, -1, slots};
  m->sources = map_create(BPF_MAP_TYPE_SOCKMAP, 4, 4, slots);
  if (m->sources >= 0) m->targets = map_create(BPF_MAP_TYPE_SOCKMAP, 4, 4, slots);
  if (m->targets >= 0) m->peers = map_create(BPF_MAP_TYPE_HASH, 8, sizeof(wn_sockmap_peer), slots);
  if (m->peers >= 0) m->prog = load_prog(m, log, log_size);
  int err = errno;
  if (m->prog >= 0) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)m->sources;
    a.attach_bpf_fd = (uint32_t)m->prog;
    a.attach_type = BPF_SK_SKB_VERDICT;
    if (sys_bpf(BPF_PROG_ATTACH, &a) == 0) return 0;
    err = errno;
  }
  wn_sockmap_close(m);
  return err != 0 ? err : EINVAL;
}

uint64_t wn_socket_cookie(int fd) {
  uint64_t c = 0;
  socklen_t len = sizeof c;
  return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) == 0 ? c : 0;
}

int wn_sockmap_add(const wn_sockmap *m, int fa, uint32_t sa, int fb, uint32_t sb) {
  uint64_t ca = wn_socket_cookie(fa), cb = wn_socket_cookie(fb);
  if (ca == 0 || cb == 0) return errno != 0 ? errno : EINVAL;
  uint32_t ua = (uint32_t)fa, ub = (uint32_t)fb;
  wn_sockmap_peer pa = {sb, 0, 0}, pb = {sa, 0, 0};
  int err = map_update(m->peers, &ca, &pa, BPF_NOEXIST);
  if (err == 0) err = map_update(m->peers, &cb, &pb, BPF_NOEXIST);
  if (err == 0) err = map_update(m->targets, &sa, &ua, BPF_NOEXIST);
  if (err == 0) err = map_update(m->targets, &sb, &ub, BPF_NOEXIST);
  if (err == 0) err = map_update(m->sources, &sa, &ua, BPF_NOEXIST);
  if (err == 0) err = map_update(m->sources, &sb, &ub, BPF_NOEXIST);
  if (err != 0) {
    wn_sockmap_remove(m, sa, ca);
    wn_sockmap_remove(m, sb, cb);
  }
  return err;
}

void wn_sockmap_remove(const wn_sockmap *m, uint32_t slot, uint64_t cookie) {
  map_delete(m->sources, &slot);
  map_delete(m->targets, &slot);
  map_delete(m->peers, &cookie);
}

uint64_t wn_sockmap_bytes(const wn_sockmap *m, uint64_t cookie) {
  wn_sockmap_peer p = {0, 0, 0};
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)m->peers;
  a.key = (uint64_t)(uintptr_t)&cookie;
  a.value = (uint64_t)(uintptr_t)&p;
  return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0 ? p.bytes : 0;
}
