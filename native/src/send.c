// Batched output: packets to the TUN device with write(), and single datagrams to peers
// (sendmmsg.c sends whole batches), one N-API call per batch. Arguments are validated up front (a bad offset is a bug in the
// helper, so it throws RangeError before any packet leaves); errors caused by the packets or the
// network only drop packets, and the return value says how many went out.
#include "common.h"
#include "pktinfo.h"
#include "send.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// read_batch reads (buf, offsets, lengths) at argv[0..2] and count at argv[count_at], and checks
// that every packet lies inside buf.
bool wn_read_batch(napi_env env, const char *fn, napi_value *argv, size_t count_at,
                       size_t *min_len, batch_args *b) {
  char what[64];
  size_t n_off, n_len;
  snprintf(what, sizeof what, "%s: buf", fn);
  if (!wn_arg_bytes(env, argv[0], what, &b->buf, &b->buf_len)) return false;
  snprintf(what, sizeof what, "%s: offsets", fn);
  if (!wn_arg_array(env, argv[1], what, napi_uint32_array, (void **)&b->offsets, &n_off))
    return false;
  snprintf(what, sizeof what, "%s: lengths", fn);
  if (!wn_arg_array(env, argv[2], what, napi_uint32_array, (void **)&b->lengths, &n_len))
    return false;
  snprintf(what, sizeof what, "%s: count", fn);
  if (!wn_arg_u32(env, argv[count_at], what, 0, UINT32_MAX, &b->count)) return false;
  *min_len = n_off < n_len ? n_off : n_len;
  for (uint32_t i = 0; i < b->count && i < *min_len; i++) {
    if (!wn_check_span(env, fn, i, b->offsets[i], b->lengths[i], b->buf_len)) return false;
  }
  return true;
}

// tun_drop_errno: errors that concern one packet (the kernel rejected or could not queue it).
static bool tun_drop_errno(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM ||
         err == EINVAL || err == EMSGSIZE;
}

// tunWriteBatch(fd, buf, offsets, lengths, count, mode): mode 0 for a plain device, 1 and 2
// for one opened with IFF_VNET_HDR (see wn_tun_write_vnet).
napi_value wn_tun_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int fd;
  batch_args b;
  size_t n;
  uint32_t mode;
  if (!wn_args(env, info, 6, argv) || !wn_arg_fd(env, argv[0], "tunWriteBatch", &fd) ||
      !wn_read_batch(env, "tunWriteBatch", argv + 1, 3, &n, &b) ||
      !wn_arg_u32(env, argv[5], "tunWriteBatch: mode", 0, 2, &mode))
    return NULL;
  if (b.count > n)
    return wn_throw_range(env, "tunWriteBatch: count %u exceeds the arrays (%zu)", b.count, n);
  if (mode == 2 && b.count > WN_MAX_BATCH)
    return wn_throw_range(env, "tunWriteBatch: count %u exceeds %u", b.count, WN_MAX_BATCH);
  if (mode != 0) {
    int64_t w = wn_tun_write_vnet(env, fd, &b, mode);
    if (w < 0) return wn_throw_errno(env, (int)-w, "write tun fd %d", fd);
    return wn_number(env, (double)w);
  }
  uint32_t written = 0;
  for (uint32_t i = 0; i < b.count; i++) {
    ssize_t r;
    do {
      r = write(fd, b.buf + b.offsets[i], b.lengths[i]);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      written++;
    } else if (!tun_drop_errno(errno)) {
      // The device itself is broken (EBADF, EIO, EBADFD...): report it unless some packets got
      // through, in which case the next call reports it.
      if (written == 0) return wn_throw_errno(env, errno, "write tun fd %d", fd);
      break;
    }
  }
  return wn_number(env, written);
}

// udp_drop_errno: errors that concern one destination, not the socket.
bool wn_udp_drop_errno(int err) {
  return err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNREFUSED || err == EPERM ||
         err == EACCES || err == EINVAL || err == EMSGSIZE || err == EHOSTDOWN ||
         err == ENETDOWN || err == EADDRNOTAVAIL;
}

// send_family is the socket's family, which decides how a destination is written (sockaddr.h).
// A descriptor that is no socket fails here with the errno the send itself would have given.
bool wn_send_family(napi_env env, int fd, const char *op, int *family) {
  *family = wn_socket_family(fd);
  if (*family == AF_INET || *family == AF_INET6) return true;
  if (*family < 0) wn_throw_errno(env, errno, "%s fd %d", op, fd);
  else wn_throw_errno(env, EAFNOSUPPORT, "%s fd %d", op, fd);
  return false;
}

// opt_words reads an optional Uint32Array of source addresses: undefined or null gives NULL
// (every datagram leaves from the address the kernel picks).
bool wn_opt_words(napi_env env, napi_value v, const char *what, uint32_t **words, size_t *n) {
  napi_valuetype t;
  *words = NULL;
  *n = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  return wn_arg_array(env, v, what, napi_uint32_array, (void **)words, n);
}

napi_value wn_udp_send(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  int fd, family;
  uint8_t *buf;
  size_t buf_len, n_words, n_local;
  uint32_t offset, length, *words, *local, at, port;
  if (!wn_args(env, info, 8, argv) || !wn_arg_fd(env, argv[0], "udpSend", &fd) ||
      !wn_arg_bytes(env, argv[1], "udpSend: buf", &buf, &buf_len) ||
      !wn_arg_u32(env, argv[2], "udpSend: offset", 0, UINT32_MAX, &offset) ||
      !wn_arg_u32(env, argv[3], "udpSend: length", 0, UINT32_MAX, &length) ||
      !wn_arg_array(env, argv[4], "udpSend: addrWords", napi_uint32_array, (void **)&words,
                    &n_words) ||
      !wn_arg_u32(env, argv[5], "udpSend: wordIndex", 0, UINT32_MAX, &at) ||
      !wn_arg_u32(env, argv[6], "udpSend: port", 0, 65535, &port) ||
      !wn_opt_words(env, argv[7], "udpSend: localWords", &local, &n_local) ||
      !wn_check_span(env, "udpSend", 0, offset, length, buf_len))
    return NULL;
  if ((uint64_t)at + 4 > n_words)
    return wn_throw_range(env, "udpSend: wordIndex %u leaves no 4 words in addrWords (%zu)", at, n_words);
  if (local != NULL && (uint64_t)at + 4 > n_local)
    return wn_throw_range(env, "udpSend: wordIndex %u leaves no 4 words in localWords (%zu)", at, n_local);
  if (!wn_send_family(env, fd, "sendto", &family)) return NULL;
  struct sockaddr_in6 sa;
  socklen_t salen = wn_name_from_words(family, words + at, (uint16_t)port, &sa);
  if (salen == 0) return wn_bool(env, false);
  union {
    struct cmsghdr align;
    uint8_t bytes[WN_SEND_CTL];
  } ctl;
  struct iovec iov = {.iov_base = buf + offset, .iov_len = length};
  struct msghdr h = {.msg_name = &sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1};
  socklen_t ctl_len = local == NULL ? 0 : wn_pktinfo_write(family, local + at, &ctl);
  if (ctl_len > 0) {
    h.msg_control = &ctl;
    h.msg_controllen = ctl_len;
  }
  for (;;) {
    if (sendmsg(fd, &h, MSG_DONTWAIT) >= 0) return wn_bool(env, true);
    if (errno == EINTR) continue;
    // A stale source is forgotten and the datagram goes again from the kernel's choice, once.
    if (h.msg_controllen == 0 || !wn_pktinfo_stale(errno)) break;
    h.msg_control = NULL;
    h.msg_controllen = 0;
    memset(local + at, 0, 4 * sizeof *local);
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || wn_udp_drop_errno(errno))
    return wn_bool(env, false);
  return wn_throw_errno(env, errno, "sendto fd %d", fd);
}
