// Batches of datagrams to peers: sendmmsg(), and UDP generic segmentation offload (udp(7)
// UDP_SEGMENT, Linux 4.18+) where the caller allows it. With GSO, consecutive datagrams to the
// same destination from the same source, all of one size except a shorter last one, travel as
// one message whose iovecs the kernel cuts back into datagrams of gso_size bytes, once, late
// in the stack (or in the NIC): one trip through the UDP/IP layers per group instead of per
// datagram. The receiver sees ordinary datagrams.
//
// A kernel or route that cannot segment refuses the message (EIO when the device offers no
// checksum offload or the route is IPsec, EMSGSIZE or on older kernels EINVAL when a segment
// does not fit the path MTU, EINVAL when the socket has no UDP checksums, ENOPROTOOPT or
// EOPNOTSUPP elsewhere): the group is then sent again
// as plain datagrams, and the caller's gso state byte is cleared so that later batches on this
// socket do not try again (as wireguard-go turns GSO off for good after EIO).
#include "common.h"
#include "pktinfo.h"
#include "send.h"
#include "sockaddr.h"

#include <errno.h>
#include <netinet/udp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

// Datagrams per chunk (at most one sendmmsg message each); the scratch stays near 26 KiB.
#define SEND_CHUNK 128u
// Segments per GSO message: the kernel's UDP_MAX_SEGMENTS was 64 until Linux 6.2 raised it.
#define GSO_MAX_SEGS 64u
// Payload bytes per GSO message: an IPv4 packet's 65,535 minus the IP and UDP headers (the
// kernel refuses more with EMSGSIZE); IPv6 allows a little more, which is not worth a case.
#define GSO_MAX_BYTES 65507u
#define GSO_CTL CMSG_SPACE(sizeof(uint16_t))

typedef struct send_chunk {
  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK]; // one per datagram, at the datagram's place in the chunk
  struct sockaddr_in6 sa[SEND_CHUNK];
  uint32_t index[SEND_CHUNK];   // caller's index of the message's first datagram
  uint32_t segs[SEND_CHUNK];    // datagrams in the message (1 without GSO)
  uint16_t gso[SEND_CHUNK];     // gso_size, 0 for a plain message
  bool src[SEND_CHUNK];         // the message names its source (pktinfo)
  union {
    struct cmsghdr align;
    uint8_t bytes[WN_SEND_CTL + GSO_CTL];
  } ctl[SEND_CHUNK];
} send_chunk;

// send_job is one udpSendBatch call: its arguments and what it has done so far.
typedef struct send_job {
  int fd, family;
  batch_args b;
  const uint32_t *words;
  const uint16_t *ports;
  uint32_t *local;    // NULL: the kernel picks every source
  uint8_t *gso_state; // NULL or [0] == 0: no GSO
  uint32_t sent;
  int err;
} send_job;

static bool same_flow(const send_job *j, uint32_t a, uint32_t b) {
  if (j->ports[a] != j->ports[b] || memcmp(j->words + 4 * (size_t)a, j->words + 4 * (size_t)b, 16) != 0)
    return false;
  return j->local == NULL || memcmp(j->local + 4 * (size_t)a, j->local + 4 * (size_t)b, 16) == 0;
}

// group_len is how many datagrams from i on (before end) can go as one GSO message: same flow,
// the first one's size for all but a shorter last, within the kernel's limits. An empty
// datagram always goes alone, since it would vanish inside a group.
static uint32_t group_len(const send_job *j, uint32_t i, uint32_t end, bool gso) {
  uint32_t size = j->b.lengths[i], n = 1;
  uint64_t total = size;
  if (!gso || size == 0 || size > UINT16_MAX) return 1;
  while (i + n < end && n < GSO_MAX_SEGS) {
    uint32_t len = j->b.lengths[i + n];
    if (len == 0 || len > size || total + len > GSO_MAX_BYTES || !same_flow(j, i, i + n)) break;
    total += len;
    n++;
    if (len < size) break;
  }
  return n;
}

// set_ctl writes message k's control data: the source from `w` (NULL or zeros: the kernel's
// choice), then UDP_SEGMENT when the message is a GSO group.
static void set_ctl(send_chunk *c, uint32_t k, int family, const uint32_t *w) {
  struct msghdr *h = &c->msgs[k].msg_hdr;
  socklen_t len = w == NULL ? 0 : wn_pktinfo_write(family, w, &c->ctl[k]);
  c->src[k] = len > 0;
  if (c->gso[k] != 0) {
    struct cmsghdr *cm = (struct cmsghdr *)(c->ctl[k].bytes + len);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(cm), &c->gso[k], sizeof(uint16_t));
    len += GSO_CTL;
  }
  h->msg_control = len > 0 ? &c->ctl[k] : NULL;
  h->msg_controllen = len;
}

// fill_chunk turns datagrams [base, end) into messages and returns how many it made. A
// destination the socket's family cannot reach (IPv6 on an AF_INET socket) is left out: not
// sent, like a destination the kernel refuses.
static uint32_t fill_chunk(send_chunk *c, const send_job *j, uint32_t base, uint32_t end, uint32_t first,
                           bool gso) {
  uint32_t m = 0;
  for (uint32_t i = base; i < end;) {
    uint32_t n = group_len(j, i, end, gso);
    socklen_t len = wn_name_from_words(j->family, j->words + 4 * (size_t)i, j->ports[i], &c->sa[m]);
    if (len == 0) {
      i += n;
      continue;
    }
    struct iovec *iov = &c->iov[i - first];
    for (uint32_t k = 0; k < n; k++) {
      iov[k].iov_base = j->b.buf + j->b.offsets[i + k];
      iov[k].iov_len = j->b.lengths[i + k];
    }
    memset(&c->msgs[m], 0, sizeof c->msgs[m]);
    c->msgs[m].msg_hdr.msg_name = &c->sa[m];
    c->msgs[m].msg_hdr.msg_namelen = len;
    c->msgs[m].msg_hdr.msg_iov = iov;
    c->msgs[m].msg_hdr.msg_iovlen = n;
    c->index[m] = i;
    c->segs[m] = n;
    c->gso[m] = n > 1 ? (uint16_t)j->b.lengths[i] : 0;
    set_ctl(c, m, j->family, j->local == NULL ? NULL : j->local + 4 * (size_t)i);
    m++;
    i += n;
  }
  return m;
}

// drop_source makes message k, and the later ones of the chunk sent from the same source, let
// the kernel choose their source, and zeros that source in the caller's words for each of their
// datagrams so it can forget it: the address is no longer the host's, or no longer routes.
static void drop_source(send_chunk *c, const send_job *j, uint32_t k, uint32_t m) {
  uint32_t stale[4];
  memcpy(stale, j->local + 4 * (size_t)c->index[k], sizeof stale);
  for (uint32_t q = k; q < m; q++) {
    uint32_t *w = j->local + 4 * (size_t)c->index[q];
    if (!c->src[q] || memcmp(w, stale, sizeof stale) != 0) continue;
    for (uint32_t s = 0; s < c->segs[q]; s++) memset(w + 4 * (size_t)s, 0, sizeof stale);
    set_ctl(c, q, j->family, NULL);
  }
}

// gso_refused tells errors that mean this message cannot be segmented here; gso_disables those
// after which GSO stays off for the socket. A segment beyond the path MTU (EMSGSIZE since Linux
// 6.12, EINVAL before) would fail every group on that path, each failure costing a second
// send, so it turns GSO off too. EINVAL counts only when no source was named, since a stale
// IPv6 source gives EINVAL as well (pktinfo.h).
static bool gso_refused(int err) {
  return err == EIO || err == EINVAL || err == EMSGSIZE || err == ENOPROTOOPT || err == EOPNOTSUPP;
}
static bool gso_disables(int err, bool src) {
  return err == EIO || err == EMSGSIZE || err == ENOPROTOOPT || err == EOPNOTSUPP || (err == EINVAL && !src);
}

static uint32_t segs_of(const send_chunk *c, uint32_t from, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t k = from; k < from + n; k++) s += c->segs[k];
  return s;
}

// send_chunk_out sends datagrams [base, end) of the job, adding to j->sent; false when the
// rest of the batch must be given up (full socket buffer, or an error of the socket in j->err).
static bool send_chunk_out(send_chunk *c, send_job *j, uint32_t base, uint32_t end) {
  bool gso = j->gso_state != NULL && j->gso_state[0] != 0;
  uint32_t m = fill_chunk(c, j, base, end, base, gso), done = 0;
  while (done < m) {
    int r = sendmmsg(j->fd, c->msgs + done, m - done, MSG_DONTWAIT);
    if (r > 0) {
      j->sent += segs_of(c, done, (uint32_t)r);
      done += (uint32_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    // A full socket buffer drops the rest of the batch, as a full NIC queue would.
    if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return false;
    // sendmmsg reports an error only for the first message it tried (c->msgs[done]).
    if (c->segs[done] > 1 && gso_refused(errno)) {
      if (gso_disables(errno, c->src[done])) j->gso_state[0] = 0;
      m = fill_chunk(c, j, c->index[done], end, base, false);
      done = 0;
      continue;
    }
    // A source the kernel no longer accepts goes again once with the kernel's choice (as
    // WireGuard's send4/send6 retry a route without the cached source); else it is dropped.
    if (c->src[done] && wn_pktinfo_stale(errno)) {
      drop_source(c, j, done, m);
      continue;
    }
    if (wn_udp_drop_errno(errno)) {
      done++;
      continue;
    }
    j->err = errno;
    return false;
  }
  return true;
}

// read_gso_state reads the optional socket state (a Uint8Array, or undefined/null): [0] the GSO
// byte, and, when it has a second byte, [1] the socket's family as this function learned it.
static bool read_gso_state(napi_env env, napi_value v, uint8_t **state, size_t *n) {
  napi_valuetype t;
  *state = NULL;
  *n = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  if (!wn_arg_array(env, v, "udpSendBatch: gsoState", napi_uint8_array, (void **)state, n)) return false;
  if (*n == 0) *state = NULL;
  return true;
}

// send_family_cached is wn_send_family without its getsockopt when state[1] already holds the
// family (4 or 6): a system call less on every batch, which a lone packet pays in full. A wrong
// byte only makes an address of the other family, which the kernel judges like any other (an
// AF_INET socket refuses an AF_INET6 one with EAFNOSUPPORT).
static bool send_family_cached(napi_env env, send_job *j, size_t n_state) {
  uint8_t *known = j->gso_state != NULL && n_state >= 2 ? &j->gso_state[1] : NULL;
  if (known != NULL && (*known == 4 || *known == 6)) {
    j->family = *known == 4 ? AF_INET : AF_INET6;
    return true;
  }
  if (!wn_send_family(env, j->fd, "sendmmsg", &j->family)) return false;
  if (known != NULL) *known = j->family == AF_INET ? 4 : 6;
  return true;
}

napi_value wn_udp_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  send_job j = {0};
  size_t n, n_words, n_port, n_local, n_state;
  if (!wn_args(env, info, 9, argv) || !wn_arg_fd(env, argv[0], "udpSendBatch", &j.fd) ||
      !wn_read_batch(env, "udpSendBatch", argv + 1, 5, &n, &j.b) ||
      !wn_arg_array(env, argv[4], "udpSendBatch: addrWords", napi_uint32_array, (void **)&j.words, &n_words) ||
      !wn_arg_array(env, argv[5], "udpSendBatch: ports", napi_uint16_array, (void **)&j.ports, &n_port) ||
      !wn_opt_words(env, argv[7], "udpSendBatch: localWords", &j.local, &n_local) ||
      !read_gso_state(env, argv[8], &j.gso_state, &n_state))
    return NULL;
  if (n_words / 4 < n) n = n_words / 4;
  if (n_port < n) n = n_port;
  if (j.local != NULL && n_local / 4 < n) n = n_local / 4;
  if (j.b.count > n)
    return wn_throw_range(env, "udpSendBatch: count %u exceeds the arrays (%zu)", j.b.count, n);
  if (!send_family_cached(env, &j, n_state)) return NULL;

  send_chunk c;
  for (uint32_t base = 0; base < j.b.count; base += SEND_CHUNK) {
    uint32_t end = j.b.count - base < SEND_CHUNK ? j.b.count : base + SEND_CHUNK;
    if (!send_chunk_out(&c, &j, base, end)) break;
  }
  // An error of the socket itself throws only if nothing went: otherwise the next call says it.
  if (j.err != 0 && j.sent == 0) return wn_throw_errno(env, j.err, "sendmmsg fd %d", j.fd);
  return wn_number(env, j.sent);
}

// wn_udp_gso_supported tells whether the kernel knows UDP_SEGMENT on this socket (Linux 4.18+;
// older kernels answer ENOPROTOOPT, and would silently ignore the control message on send,
// sending one oversized datagram, so this probe must come first).
napi_value wn_udp_gso_supported(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd, v = 0;
  socklen_t len = sizeof v;
  if (!wn_args(env, info, 1, argv) || !wn_arg_fd(env, argv[0], "udpGsoSupported", &fd)) return NULL;
  return wn_bool(env, getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0);
}
