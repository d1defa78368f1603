// Batched output: packets to the TUN device with write() and datagrams to peers with sendmmsg(),
// one N-API call per batch. Arguments are validated up front (a bad offset is a bug in the
// helper, so it throws RangeError before any packet leaves); errors caused by the packets or the
// network only drop packets, and the return value says how many went out.
#include "common.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Messages per sendmmsg call; keeps the scratch arrays on the stack small (about 12 KiB).
#define SEND_CHUNK 128u

typedef struct batch_args {
  uint8_t *buf;
  size_t buf_len;
  uint32_t *offsets;
  uint32_t *lengths;
  uint32_t count;
} batch_args;

// read_batch reads (buf, offsets, lengths) at argv[0..2] and count at argv[count_at], and checks
// that every packet lies inside buf.
static bool read_batch(napi_env env, const char *fn, napi_value *argv, size_t count_at,
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

napi_value wn_tun_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd;
  batch_args b;
  size_t n;
  if (!wn_args(env, info, 5, argv) || !wn_arg_fd(env, argv[0], "tunWriteBatch", &fd) ||
      !read_batch(env, "tunWriteBatch", argv + 1, 3, &n, &b))
    return NULL;
  if (b.count > n)
    return wn_throw_range(env, "tunWriteBatch: count %u exceeds the arrays (%zu)", b.count, n);
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
static bool udp_drop_errno(int err) {
  return err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNREFUSED || err == EPERM ||
         err == EACCES || err == EINVAL || err == EMSGSIZE || err == EHOSTDOWN ||
         err == ENETDOWN || err == EADDRNOTAVAIL;
}

// send_family is the socket's family, which decides how a destination is written (sockaddr.h).
// A descriptor that is no socket fails here with the errno the send itself would have given.
static bool send_family(napi_env env, int fd, const char *op, int *family) {
  *family = wn_socket_family(fd);
  if (*family == AF_INET || *family == AF_INET6) return true;
  if (*family < 0) wn_throw_errno(env, errno, "%s fd %d", op, fd);
  else wn_throw_errno(env, EAFNOSUPPORT, "%s fd %d", op, fd);
  return false;
}

napi_value wn_udp_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int fd;
  batch_args b;
  size_t n, n_words, n_port;
  uint32_t *words;
  uint16_t *ports;
  int family;
  if (!wn_args(env, info, 7, argv) || !wn_arg_fd(env, argv[0], "udpSendBatch", &fd) ||
      !read_batch(env, "udpSendBatch", argv + 1, 5, &n, &b) ||
      !wn_arg_array(env, argv[4], "udpSendBatch: addrWords", napi_uint32_array, (void **)&words,
                    &n_words) ||
      !wn_arg_array(env, argv[5], "udpSendBatch: ports", napi_uint16_array, (void **)&ports,
                    &n_port))
    return NULL;
  if (n_words / 4 < n) n = n_words / 4;
  if (n_port < n) n = n_port;
  if (b.count > n)
    return wn_throw_range(env, "udpSendBatch: count %u exceeds the arrays (%zu)", b.count, n);
  if (!send_family(env, fd, "sendmmsg", &family)) return NULL;

  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK];
  struct sockaddr_in6 sa[SEND_CHUNK];
  uint32_t sent = 0;
  for (uint32_t base = 0; base < b.count; base += SEND_CHUNK) {
    uint32_t end = b.count - base < SEND_CHUNK ? b.count : base + SEND_CHUNK;
    uint32_t m = 0;
    // A destination the socket's family cannot reach (IPv6 on an AF_INET socket) is left out
    // of the chunk: not sent, like a destination the kernel refuses.
    for (uint32_t i = base; i < end; i++) {
      socklen_t len = wn_name_from_words(family, words + 4 * (size_t)i, ports[i], &sa[m]);
      if (len == 0) continue;
      memset(&msgs[m], 0, sizeof msgs[m]);
      iov[m].iov_base = b.buf + b.offsets[i];
      iov[m].iov_len = b.lengths[i];
      msgs[m].msg_hdr.msg_name = &sa[m];
      msgs[m].msg_hdr.msg_namelen = len;
      msgs[m].msg_hdr.msg_iov = &iov[m];
      msgs[m].msg_hdr.msg_iovlen = 1;
      m++;
    }
    uint32_t done = 0;
    while (done < m) {
      int r = sendmmsg(fd, msgs + done, m - done, MSG_DONTWAIT);
      if (r > 0) {
        done += (uint32_t)r;
        sent += (uint32_t)r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // A full socket buffer drops the rest of the batch, as a full NIC queue would.
      if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        return wn_number(env, sent);
      // sendmmsg reports an error only for the first message it tried: skip that one.
      if (udp_drop_errno(errno)) {
        done++;
        continue;
      }
      if (sent == 0) return wn_throw_errno(env, errno, "sendmmsg fd %d", fd);
      return wn_number(env, sent);
    }
  }
  return wn_number(env, sent);
}

napi_value wn_udp_send(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int fd, family;
  uint8_t *buf;
  size_t buf_len, n_words;
  uint32_t offset, length, *words, at, port;
  if (!wn_args(env, info, 7, argv) || !wn_arg_fd(env, argv[0], "udpSend", &fd) ||
      !wn_arg_bytes(env, argv[1], "udpSend: buf", &buf, &buf_len) ||
      !wn_arg_u32(env, argv[2], "udpSend: offset", 0, UINT32_MAX, &offset) ||
      !wn_arg_u32(env, argv[3], "udpSend: length", 0, UINT32_MAX, &length) ||
      !wn_arg_array(env, argv[4], "udpSend: addrWords", napi_uint32_array, (void **)&words,
                    &n_words) ||
      !wn_arg_u32(env, argv[5], "udpSend: wordIndex", 0, UINT32_MAX, &at) ||
      !wn_arg_u32(env, argv[6], "udpSend: port", 0, 65535, &port) ||
      !wn_check_span(env, "udpSend", 0, offset, length, buf_len))
    return NULL;
  if ((uint64_t)at + 4 > n_words)
    return wn_throw_range(env, "udpSend: wordIndex %u leaves no 4 words in addrWords (%zu)", at, n_words);
  if (!send_family(env, fd, "sendto", &family)) return NULL;
  struct sockaddr_in6 sa;
  socklen_t salen = wn_name_from_words(family, words + at, (uint16_t)port, &sa);
  if (salen == 0) return wn_bool(env, false);
  ssize_t r;
  do {
    r = sendto(fd, buf + offset, length, MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) return wn_bool(env, true);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || udp_drop_errno(errno))
    return wn_bool(env, false);
  return wn_throw_errno(env, errno, "sendto fd %d", fd);
}
