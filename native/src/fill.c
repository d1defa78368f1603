// Filling one pool entry from the reader's descriptor, shared by both reader modes: the reader
// thread calls it after its own poll(), the poller on the event loop after libuv's epoll. The
// descriptor is non-blocking in both cases, so a fill never waits.
#include "reader.h"
#include "pktinfo.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static uint8_t *slot(const wn_reader *r, const wn_entry *e, uint32_t i) {
  return e->mem + (size_t)i * r->slot_size + r->headroom;
}

bool wn_reader_transient(int err) {
  return err == ENOBUFS || err == ENOMEM || err == ECONNREFUSED || err == EHOSTUNREACH ||
         err == ENETUNREACH || err == EHOSTDOWN || err == ENETDOWN || err == ECONNRESET;
}

// fill_tun reads packets until the device is drained or the batch is full. A TUN read silently
// truncates a packet longer than the buffer, so it asks for one byte more than a slot accepts
// (that byte lands in the tailroom): a read longer than `cap` is an oversize packet (MTU above
// the slot), which is skipped and counted. r->read_limit, when set, bounds the reads.
static uint32_t fill_tun(wn_reader *r, wn_entry *e, int *err, bool *full) {
  uint32_t i = 0, reads = 0;
  while (i < r->max_batch) {
    if (r->read_limit != 0 && reads++ == r->read_limit) {
      *full = true; // stopped by the limit, not drained: the caller reads on
      return i;
    }
    ssize_t n = read(r->io_fd, slot(r, e, i), (size_t)r->cap + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      break;
    }
    if (n == 0) break;
    if ((size_t)n > r->cap) {
      WN_COUNT(r, truncated, 1);
      continue;
    }
    e->lengths[i] = (uint32_t)n;
    memset(e->addr_words + 4 * (size_t)i, 0, 4 * sizeof *e->addr_words);
    memset(e->local_words + 4 * (size_t)i, 0, 4 * sizeof *e->local_words);
    e->ports[i] = 0;
    e->ifindex[i] = 0;
    i++;
  }
  *full = i == r->max_batch;
  return i;
}

// fill_udp receives up to max_batch datagrams in one recvmmsg() and compacts away truncated
// ones, so that packet i always sits in slot i. The batch counts as full when the kernel handed
// over max_batch datagrams, truncated ones included: more may be waiting.
static uint32_t fill_udp(wn_reader *r, wn_entry *e, int *err, bool *full) {
  for (uint32_t j = 0; j < r->max_batch; j++) {
    r->iov[j].iov_base = slot(r, e, j);
    r->iov[j].iov_len = r->cap;
    memset(&r->msgs[j], 0, sizeof r->msgs[j]);
    r->msgs[j].msg_hdr.msg_name = &r->names[j];
    r->msgs[j].msg_hdr.msg_namelen = sizeof r->names[j];
    r->msgs[j].msg_hdr.msg_iov = &r->iov[j];
    r->msgs[j].msg_hdr.msg_iovlen = 1;
    // CMSG_SPACE keeps every buffer aligned for cmsghdr, as each message's data must be.
    r->msgs[j].msg_hdr.msg_control = r->ctl + (size_t)j * WN_RECV_CTL;
    r->msgs[j].msg_hdr.msg_controllen = WN_RECV_CTL;
  }
  int n;
  do {
    n = recvmmsg(r->io_fd, r->msgs, r->max_batch, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  *full = n == (int)r->max_batch;
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    return 0;
  }
  uint32_t out = 0;
  for (uint32_t j = 0; j < (uint32_t)n; j++) {
    const struct msghdr *h = &r->msgs[j].msg_hdr;
    uint32_t len = r->msgs[j].msg_len;
    if ((h->msg_flags & MSG_TRUNC) || len > r->cap) {
      WN_COUNT(r, truncated, 1);
      continue;
    }
    if (out != j) memmove(slot(r, e, out), slot(r, e, j), len);
    e->lengths[out] = len;
    wn_words_from_name(&r->names[j], h->msg_namelen, e->addr_words + 4 * (size_t)out, &e->ports[out]);
    wn_pktinfo_read(h, e->local_words + 4 * (size_t)out, &e->ifindex[out]);
    out++;
  }
  return out;
}

uint32_t wn_reader_fill(wn_reader *r, wn_entry *e, int *err, bool *full) {
  if (r->kind == WN_KIND_TUN) return r->tunv != NULL ? wn_tunv_fill(r, e, err, full) : fill_tun(r, e, err, full);
  return r->gro != NULL ? wn_gro_fill(r, e, err, full) : fill_udp(r, e, err, full);
}
