// The reader thread ('thread' mode): poll the descriptor, fill a free pool entry with up to
// max_batch packets (fill.c), queue it to JS, repeat. It never calls into JS and never blocks
// the event loop: queueing is non-blocking and the only wait is for a free entry or for the
// descriptor.
#include "reader.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

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

static void report_fatal(wn_reader *r, int err, const char *op) {
  r->fatal_err = err;
  r->fatal_op = op;
  napi_call_threadsafe_function(r->tsfn, WN_ERROR_MARKER(r), napi_tsfn_nonblocking);
}

// deliver_fill fills *e, queues it to JS if it got packets (then *e is NULL) and returns false
// when the thread must end. revents is what poll() said of the descriptor.
static bool deliver_fill(wn_reader *r, wn_entry **e, short revents) {
  int err = 0;
  bool full;
  uint32_t count = wn_reader_fill(r, *e, &err, &full);
  // An error condition that no read clears would spin the loop: treat it as fatal.
  if (count == 0 && err == 0 && !(revents & POLLIN)) {
    WN_COUNT(r, errors, 1);
    report_fatal(r, EIO, "poll");
    return false;
  }
  if (count > 0) {
    (*e)->count = count;
    WN_COUNT(r, batches, 1);
    WN_COUNT(r, packets, count);
    // Failure means closing: the environment is going away.
    if (napi_call_threadsafe_function(r->tsfn, *e, napi_tsfn_nonblocking) != napi_ok) return false;
    *e = NULL;
  }
  if (err != 0) {
    WN_COUNT(r, errors, 1);
    if (!wn_reader_transient(err)) {
      report_fatal(r, err, r->kind == WN_KIND_TUN ? "read tun" : "recvmmsg");
      return false;
    }
  }
  return true;
}

void *wn_reader_main(void *arg) {
  wn_reader *r = arg;
  wn_entry *e = NULL;
  for (;;) {
    if (e == NULL && (e = take_entry(r)) == NULL) break; // NULL only when stopping
    // Datagrams left over from a coalesced GRO buffer need no wait: the socket may be empty.
    if (wn_reader_pending(r)) {
      if (!deliver_fill(r, &e, POLLIN)) break;
      continue;
    }
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
    if (!deliver_fill(r, &e, p[0].revents)) break;
  }
  if (e != NULL) wn_reader_release_entry(r, e);
  return NULL;
}
