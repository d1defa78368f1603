// A reader: one native thread that reads packets from a TUN device or a UDP socket into a
// small pool of batch buffers and hands each filled batch to JS through a threadsafe function.
//
// Ownership of a pool entry moves thread -> JS queue -> onBatch -> free again; the thread takes
// only free entries, so it never writes memory JS is looking at, and when all entries are in
// flight it waits, leaving packets in the kernel queue (back-pressure).
#ifndef WARREN_READER_H
#define WARREN_READER_H

#include "common.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

typedef enum wn_kind { WN_KIND_TUN = 1, WN_KIND_UDP = 2 } wn_kind;

typedef struct wn_entry {
  uint8_t *mem;      // the batch Buffer's bytes: max_batch slots of slot_size
  uint32_t *lengths; // backing store of the batch's typed arrays
  uint32_t *addrs;
  uint16_t *ports;
  uint32_t count;
  bool busy;         // guarded by wn_reader.mu
  napi_ref batch;    // the JS Batch object, created once and reused for every batch
} wn_entry;

typedef struct wn_reader {
  int fd;    // the caller's descriptor, named in error messages
  int io_fd; // the reader's own duplicate of it, closed by stop()
  wn_kind kind;
  uint32_t max_batch, slot_size, headroom, pool;
  uint32_t cap; // packet bytes per slot: slot_size - headroom - WN_TAILROOM
  int wake_fd;  // eventfd that stop() writes to interrupt poll()

  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;  // signalled when an entry becomes free or on stop
  bool stopping;      // guarded by mu

  // JS-thread state.
  napi_env env;
  napi_threadsafe_function tsfn;
  napi_ref on_error;
  napi_ref self;      // keeps the handle alive while the thread runs
  bool running;       // thread started and not yet joined
  bool stopped;       // no more callbacks may run
  bool cleanup_hook;  // env cleanup hook registered
  int holds;          // finalizers still to run before the struct can be freed

  // Written by the thread before it queues the error marker (the queue orders the accesses).
  int fatal_err;
  const char *fatal_op;

  _Atomic uint64_t batches, packets, truncated, errors;

  wn_entry *entries;
  // recvmmsg scratch, used only by the thread.
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_in *names;
} wn_reader;

// WN_ERROR_MARKER(r) is the tsfn payload that reports r->fatal_err instead of a batch.
#define WN_ERROR_MARKER(r) ((void *)&(r)->fatal_err)

void *wn_reader_main(void *arg);
void wn_reader_release_entry(wn_reader *r, wn_entry *e);

#endif
