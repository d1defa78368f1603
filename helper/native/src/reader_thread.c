// The reader thread: poll the descriptor, fill a free pool entry with up to max_batch packets
// (read() in a loop for TUN, one recvmmsg() for UDP), queue it to JS, repeat. It never calls into
// JS and never blocks the event loop: queueing is non-blocking and the only wait is for a free
// entry or for the descriptor.
#include "reader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define COUNT(r, field, n) atomic_fetch_add_explicit(&(r)->field, (n), memory_order_relaxed)

static wn_entry *take_entry(wn_reader *r) {
  wn_entry *e = NULL;
  pthread_mutex_lock(&r->mu);
  while (!r->stopping) {
    for (uint32_t i = 0; i < r->pool && e == NULL; i++) {
      if (!r->entries[i].busy) e = &r->entries[i];
    }
    if (e != NULL) {
      e->busy = true;
      break;
    }
    pthread_cond_wait(&r->cv, &r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return e;
}

void wn_reader_release_entry(wn_reader *r, wn_entry *e) {
  pthread_mutex_lock(&r->mu);
  e->busy = false;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static uint8_t *slot(const wn_reader *r, const wn_entry *e, uint32_t i) {
  return e->mem + (size_t)i * r->slot_size + r->headroom;
}

// transient: read errors that concern single packets or passing network conditions; the
// reader counts them and keeps going. Anything else means the descriptor is unusable.
static bool transient(int err) {
  return err == ENOBUFS || err == ENOMEM || err == ECONNREFUSED || err == EHOSTUNREACH ||
         err == ENETUNREACH || err == EHOSTDOWN || err == ENETDOWN || err == ECONNRESET;
}

// fill_tun reads packets until the device is drained or the batch is full. A TUN read silently
// truncates a packet longer than the buffer, so it asks for one byte more than a slot accepts
// (that byte lands in the tailroom): a read longer than `cap` is an oversize packet (MTU above
// the slot), which is skipped and counted.
static uint32_t fill_tun(wn_reader *r, wn_entry *e, int *err) {
  uint32_t i = 0;
  while (i < r->max_batch) {
    ssize_t n = read(r->io_fd, slot(r, e, i), (size_t)r->cap + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      break;
    }
    if (n == 0) break;
    if ((size_t)n > r->cap) {
      COUNT(r, truncated, 1);
      continue;
    }
    e->lengths[i] = (uint32_t)n;
    e->addrs[i] = 0;
    e->ports[i] = 0;
    i++;
  }
  return i;
}

// fill_udp receives up to max_batch datagrams in one recvmmsg() and compacts away truncated
// ones, so that packet i always sits in slot i.
static uint32_t fill_udp(wn_reader *r, wn_entry *e, int *err) {
  for (uint32_t j = 0; j < r->max_batch; j++) {
    r->iov[j].iov_base = slot(r, e, j);
    r->iov[j].iov_len = r->cap;
    memset(&r->msgs[j], 0, sizeof r->msgs[j]);
    r->msgs[j].msg_hdr.msg_name = &r->names[j];
    r->msgs[j].msg_hdr.msg_namelen = sizeof r->names[j];
    r->msgs[j].msg_hdr.msg_iov = &r->iov[j];
    r->msgs[j].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = recvmmsg(r->io_fd, r->msgs, r->max_batch, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    return 0;
  }
  uint32_t out = 0;
  for (uint32_t j = 0; j < (uint32_t)n; j++) {
    const struct msghdr *h = &r->msgs[j].msg_hdr;
    uint32_t len = r->msgs[j].msg_len;
    if ((h->msg_flags & MSG_TRUNC) || len > r->cap) {
      COUNT(r, truncated, 1);
      continue;
    }
    if (out != j) memmove(slot(r, e, out), slot(r, e, j), len);
    const struct sockaddr_in *sa = &r->names[j];
    bool v4 = h->msg_namelen >= sizeof *sa && sa->sin_family == AF_INET;
    e->lengths[out] = len;
    e->addrs[out] = v4 ? ntohl(sa->sin_addr.s_addr) : 0;
    e->ports[out] = v4 ? ntohs(sa->sin_port) : 0;
    out++;
  }
  return out;
}

static void report_fatal(wn_reader *r, int err, const char *op) {
  r->fatal_err = err;
  r->fatal_op = op;
  napi_call_threadsafe_function(r->tsfn, WN_ERROR_MARKER(r), napi_tsfn_nonblocking);
}

void *wn_reader_main(void *arg) {
  wn_reader *r = arg;
  const char *op = r->kind == WN_KIND_TUN ? "read tun" : "recvmmsg";
  wn_entry *e = NULL;
  for (;;) {
    if (e == NULL && (e = take_entry(r)) == NULL) break; // NULL only when stopping
    struct pollfd p[2] = {{.fd = r->io_fd, .events = POLLIN}, {.fd = r->wake_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      report_fatal(r, errno, "poll");
      break;
    }
    if (p[1].revents != 0) break;
    if (p[0].revents & POLLNVAL) {
      report_fatal(r, EBADF, "poll");
      break;
    }
    if (p[0].revents == 0) continue;
    int err = 0;
    uint32_t count = r->kind == WN_KIND_TUN ? fill_tun(r, e, &err) : fill_udp(r, e, &err);
    // An error condition that no read clears would spin this loop: treat it as fatal.
    if (count == 0 && err == 0 && !(p[0].revents & POLLIN)) {
      COUNT(r, errors, 1);
      report_fatal(r, EIO, "poll");
      break;
    }
    if (count > 0) {
      e->count = count;
      COUNT(r, batches, 1);
      COUNT(r, packets, count);
      if (napi_call_threadsafe_function(r->tsfn, e, napi_tsfn_nonblocking) != napi_ok) {
        break; // closing: the environment is going away
      }
      e = NULL;
    }
    if (err != 0) {
      COUNT(r, errors, 1);
      if (!transient(err)) {
        report_fatal(r, err, op);
        break;
      }
    }
  }
  if (e != NULL) wn_reader_release_entry(r, e);
  return NULL;
}
