// UDP GRO on receive (udp(7) UDP_GRO, Linux 5.0+): the kernel may hand over several datagrams
// of one flow as a single buffer, all of gso_size bytes but a shorter last, and says so in a
// UDP_GRO control message. One recvmmsg message then carries up to 64 KiB, so GRO reads into
// WN_GRO_BUFS buffers of 64 KiB of its own (1 MiB per reader, whatever the batch geometry) and
// copies each datagram into its slot, where the rest of the data path expects it.
//
// The buffer and its control message come from the kernel, but their sizes are checked as if
// hostile: a gso_size of 0 or beyond the buffer means "one datagram", and a datagram longer
// than a slot is skipped and counted like any truncated one. A coalesced buffer larger than
// the batch has room for stays pending and fills the next batch first.
#include "reader.h"
#include "pktinfo.h"
#include "sockaddr.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define GRO_CTL (WN_RECV_CTL + CMSG_SPACE(sizeof(int)))

typedef struct wn_gro {
  uint8_t *mem; // WN_GRO_BUFS buffers of WN_GRO_BUF_BYTES
  struct mmsghdr msgs[WN_GRO_BUFS];
  struct iovec iov[WN_GRO_BUFS];
  struct sockaddr_in6 names[WN_GRO_BUFS];
  union {
    struct cmsghdr align;
    uint8_t bytes[GRO_CTL];
  } ctl[WN_GRO_BUFS];
  uint32_t count; // messages from the last recvmmsg
  uint32_t cur;   // the message being split
  uint32_t off;   // bytes of it already handed out
} wn_gro;

bool wn_gro_enable(wn_reader *r) {
  int one = 1;
  if (setsockopt(r->io_fd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0) return true;
  wn_gro *g = calloc(1, sizeof *g);
  uint8_t *mem = malloc(WN_GRO_BYTES);
  if (g == NULL || mem == NULL) {
    int zero = 0;
    setsockopt(r->io_fd, SOL_UDP, UDP_GRO, &zero, sizeof zero);
    free(g);
    free(mem);
    return false;
  }
  g->mem = mem;
  r->gro = g;
  return true;
}

void wn_gro_free(wn_reader *r) {
  if (r->gro == NULL) return;
  free(r->gro->mem);
  free(r->gro);
  r->gro = NULL;
}

bool wn_gro_pending(const wn_reader *r) { return r->gro != NULL && r->gro->cur < r->gro->count; }

// gso_size_of returns the UDP_GRO segment size of message h, or `len` (one datagram) when it
// has none or an implausible one.
static uint32_t gso_size_of(const struct msghdr *h, uint32_t len) {
  if (h->msg_controllen == 0 || (h->msg_flags & MSG_CTRUNC)) return len;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int)))
      continue;
    int v;
    memcpy(&v, CMSG_DATA(c), sizeof v);
    return v > 0 && (uint32_t)v < len ? (uint32_t)v : len;
  }
  return len;
}

// put copies one datagram of message k into slot `out` with its addresses.
static void put(wn_reader *r, wn_entry *e, uint32_t out, uint32_t k, const uint8_t *data, uint32_t len) {
  wn_gro *g = r->gro;
  const struct msghdr *h = &g->msgs[k].msg_hdr;
  memcpy(e->mem + (size_t)out * r->slot_size + r->headroom, data, len);
  e->lengths[out] = len;
  wn_words_from_name(&g->names[k], h->msg_namelen, e->addr_words + 4 * (size_t)out, &e->ports[out]);
  wn_pktinfo_read(h, e->local_words + 4 * (size_t)out, &e->ifindex[out]);
}

// drain splits the pending messages into slots from `out` on and returns the next free slot.
static uint32_t drain(wn_reader *r, wn_entry *e, uint32_t out) {
  wn_gro *g = r->gro;
  while (g->cur < g->count && out < r->max_batch) {
    const struct msghdr *h = &g->msgs[g->cur].msg_hdr;
    uint32_t len = g->msgs[g->cur].msg_len;
    const uint8_t *data = g->mem + (size_t)g->cur * WN_GRO_BUF_BYTES;
    if ((h->msg_flags & MSG_TRUNC) || len > WN_GRO_BUF_BYTES) {
      WN_COUNT(r, truncated, 1);
      g->cur++;
      continue;
    }
    uint32_t seg = gso_size_of(h, len);
    if (g->off == 0 && seg < len) WN_COUNT(r, coalesced, 1);
    uint32_t n = len - g->off < seg ? len - g->off : seg;
    if (n > r->cap) WN_COUNT(r, truncated, 1);
    else put(r, e, out++, g->cur, data + g->off, n);
    g->off += n;
    if (g->off >= len) { // an empty datagram is one packet too
      g->cur++;
      g->off = 0;
    }
  }
  return out;
}

// receive reads up to `want` messages into the GRO buffers; false when nothing was read.
static bool receive(wn_reader *r, uint32_t want, int *err, uint32_t *got) {
  wn_gro *g = r->gro;
  for (uint32_t k = 0; k < want; k++) {
    g->iov[k].iov_base = g->mem + (size_t)k * WN_GRO_BUF_BYTES;
    g->iov[k].iov_len = WN_GRO_BUF_BYTES;
    memset(&g->msgs[k], 0, sizeof g->msgs[k]);
    g->msgs[k].msg_hdr.msg_name = &g->names[k];
    g->msgs[k].msg_hdr.msg_namelen = sizeof g->names[k];
    g->msgs[k].msg_hdr.msg_iov = &g->iov[k];
    g->msgs[k].msg_hdr.msg_iovlen = 1;
    g->msgs[k].msg_hdr.msg_control = &g->ctl[k];
    g->msgs[k].msg_hdr.msg_controllen = GRO_CTL;
  }
  int n;
  do {
    n = recvmmsg(r->io_fd, g->msgs, want, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    return false;
  }
  g->count = (uint32_t)n;
  g->cur = 0;
  g->off = 0;
  *got = (uint32_t)n;
  return true;
}

// wn_gro_fill first hands out what is pending; a fill that had something pending reads no more,
// so that draining (which the poller does past its round limit) always ends.
uint32_t wn_gro_fill(wn_reader *r, wn_entry *e, int *err, bool *full) {
  bool had_pending = wn_gro_pending(r);
  uint32_t out = drain(r, e, 0);
  bool more = true; // the kernel may hold more
  if (had_pending) {
    *full = true;
    return out;
  }
  while (out < r->max_batch && more) {
    uint32_t want = r->max_batch - out < WN_GRO_BUFS ? r->max_batch - out : WN_GRO_BUFS, got = 0;
    if (!receive(r, want, err, &got)) {
      more = false;
      break;
    }
    out = drain(r, e, out);
    more = got == want;
  }
  *full = wn_gro_pending(r) || (out == r->max_batch && more);
  return out;
}
