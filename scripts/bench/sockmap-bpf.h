// An in-kernel path for proxied TCP pairs (BPF sockmap), for sockmap-ref.c: loading the verdict
// program with the raw bpf(2) system call (no libbpf) and putting pairs of sockets into its maps.
// Measured against the splice pump and left out of the helper (docs/architecture.md, "Proxies").
#ifndef SOCKMAP_BPF_H
#define SOCKMAP_BPF_H

#include <stdint.h>

typedef struct wn_sockmap {
  int sources; // SOCKMAP with the verdict program: a socket here has its input redirected
  int targets; // SOCKMAP without programs, what the program redirects to (same slots)
  int peers;   // HASH: socket cookie -> wn_sockmap_peer
  int prog;
  uint32_t slots;
} wn_sockmap;

// wn_sockmap_peer is the peers map's value; the program adds each redirected skb's length to
// bytes (atomically: softirqs on several CPUs may run it for the same pair).
typedef struct wn_sockmap_peer {
  uint32_t slot; // the peer's slot in targets
  uint32_t pad;
  uint64_t bytes;
} wn_sockmap_peer;

// wn_sockmap_open creates the maps and loads and attaches the program; 0 or an errno (the
// verifier's log, if any, in log).
int wn_sockmap_open(wn_sockmap *m, uint32_t slots, char *log, uint32_t log_size);
void wn_sockmap_close(wn_sockmap *m);
// wn_sockmap_add puts the connected TCP sockets fa (slot sa) and fb (slot sb) in the maps so
// that each one's input is sent out of the other; 0 or an errno (nothing left in the maps).
int wn_sockmap_add(const wn_sockmap *m, int fa, uint32_t sa, int fb, uint32_t sb);
// wn_sockmap_remove takes the socket of cookie out of slot (and its peer entry); idempotent.
void wn_sockmap_remove(const wn_sockmap *m, uint32_t slot, uint64_t cookie);
// wn_sockmap_bytes is what the program redirected from the socket of cookie so far (0: none).
uint64_t wn_sockmap_bytes(const wn_sockmap *m, uint64_t cookie);
// wn_socket_cookie is SO_COOKIE of fd, 0 on failure.
uint64_t wn_socket_cookie(int fd);

#endif
