// A reader reads packets from a TUN device or a UDP socket into a small pool of batch buffers
// and hands each filled batch to JS. It runs in one of two modes:
//
// - 'thread' (reader.c, reader_thread.c): a native thread polls and reads, and hands each batch
//   to the event loop through a threadsafe function. Ownership of a pool entry moves
//   thread -> JS queue -> onBatch -> free again; the thread takes only free entries, so it never
//   writes memory JS is looking at, and when all entries are in flight it waits, leaving packets
//   in the kernel queue (back-pressure). Reading overlaps with JS work, at the cost of two thread
//   wake-ups per batch.
// - 'poll' (poller.c): libuv's epoll on the event-loop thread wakes a uv_poll_t, which reads
//   into the single pool entry and calls onBatch synchronously: one wake-up per batch, and
//   back-pressure is simply that nothing is read while JS is busy.
#ifndef WARREN_READER_H
#define WARREN_READER_H

#include "common.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <uv.h>

typedef enum wn_kind { WN_KIND_TUN = 1, WN_KIND_UDP = 2 } wn_kind;
typedef enum wn_mode { WN_MODE_THREAD = 1, WN_MODE_POLL = 2 } wn_mode;

#define WN_COUNT(r, field, n) atomic_fetch_add_explicit(&(r)->field, (n), memory_order_relaxed)

typedef struct wn_entry {
  uint8_t *mem;      // the batch Buffer's bytes: max_batch slots of slot_size
  uint32_t *lengths; // backing store of the batch's typed arrays
  uint32_t *addr_words; // 4 per packet: the source address, see wn_reader_fill
  uint16_t *ports;
  uint32_t *local_words; // 4 per packet: the local address it arrived on (pktinfo.h)
  uint32_t *ifindex;     // the interface it arrived on
  uint32_t count;
  bool busy;         // guarded by wn_reader.mu
  napi_ref batch;    // the JS Batch object, created once and reused for every batch
} wn_entry;

typedef struct wn_reader {
  int fd;    // the caller's descriptor, named in error messages
  int io_fd; // the reader's own duplicate of it, closed by stop()
  wn_kind kind;
  wn_mode mode;
  uint32_t max_batch, slot_size, headroom, pool;
  uint32_t cap; // packet bytes per slot: slot_size - headroom - WN_TAILROOM
  int wake_fd;  // eventfd that stop() writes to interrupt poll() ('thread' mode)

  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;  // signalled when an entry becomes free or on stop
  bool stopping;      // guarded by mu

  // JS-thread state.
  napi_env env;
  napi_threadsafe_function tsfn; // 'thread' mode
  napi_ref on_error;
  napi_ref self;      // keeps the handle alive while the reader runs
  bool running;       // thread started and not yet joined
  bool stopped;       // no more callbacks may run
  bool cleanup_hook;  // env cleanup hook registered
  int holds;          // finalizers still to run before the struct can be freed

  // 'poll' mode. The uv handle lives in a struct of its own (poller.c) that outlives this one
  // until libuv's close callback, and stops pointing here once closed.
  struct wn_poll *poll; // NULL once closed
  napi_ref on_batch;
  napi_async_context async_ctx;
  bool failed;        // a fatal error stopped the polling; stop() still cleans up
  bool dispatching;   // a callback is running inside async_ctx
  bool busy_tun;      // the last full fill of this TUN reader found more than one packet
  // read_limit bounds the reads of a TUN fill (0: until drained or full); a fill stopped by it
  // reports itself full, so the caller reads on. Set by the poller for lone packets.
  uint32_t read_limit;

  // Written by the thread before it queues the error marker (the queue orders the accesses).
  int fatal_err;
  const char *fatal_op;

  _Atomic uint64_t batches, packets, truncated, errors;
  _Atomic uint64_t coalesced; // GRO buffers that held more than one datagram
  _Atomic uint64_t split;     // TUN super-packets split into more than one packet

  wn_entry *entries;
  // recvmmsg scratch, used only by whichever side reads.
  struct mmsghdr *msgs;
  struct iovec *iov;
  // sockaddr_in6 holds a sockaddr_in too, so one table serves both socket families.
  struct sockaddr_in6 *names;
  uint8_t *ctl; // WN_RECV_CTL bytes of control data per datagram
  struct wn_gro *gro; // UDP GRO receive state (gro.c), NULL when off
  struct wn_tunv *tunv; // IFF_VNET_HDR state of a TUN reader (tunv.c), NULL without
} wn_reader;

// WN_ERROR_MARKER(r) is the tsfn payload that reports r->fatal_err instead of a batch.
#define WN_ERROR_MARKER(r) ((void *)&(r)->fatal_err)

// wn_reader_stop ends the reader; see reader.c.
void wn_reader_stop(napi_env env, wn_reader *r, bool from_hook);

void *wn_reader_main(void *arg);
void wn_reader_release_entry(wn_reader *r, wn_entry *e);

// wn_reader_fill reads up to max_batch packets into e and returns how many it kept. *err is set
// to a read error other than EAGAIN (packets read before it are still returned), and *full
// tells whether the kernel may hold more because the batch filled up.
uint32_t wn_reader_fill(wn_reader *r, wn_entry *e, int *err, bool *full);
// wn_reader_transient tells read errors that concern single packets or passing network
// conditions, which are counted and skipped, from those that make the descriptor unusable.
bool wn_reader_transient(int err);

// UDP GRO (gro.c). wn_gro_enable turns UDP_GRO on for the reader's socket and allocates the
// receive buffers, or leaves r->gro NULL when the kernel refuses (false only when out of
// memory); wn_gro_fill replaces recvmmsg's fill; wn_gro_pending tells whether datagrams of a
// coalesced buffer are still waiting for a slot, which a reader must drain before it waits for
// the descriptor (the kernel's queue may be empty by then).
bool wn_gro_enable(wn_reader *r);
void wn_gro_free(wn_reader *r);
uint32_t wn_gro_fill(wn_reader *r, wn_entry *e, int *err, bool *full);
bool wn_gro_pending(const wn_reader *r);
// WN_GRO_BYTES is the memory GRO adds to a reader, counted in its bound (reader.c).
#define WN_GRO_BUFS 16u
#define WN_GRO_BUF_BYTES 65536u
#define WN_GRO_BYTES ((uint64_t)WN_GRO_BUFS * WN_GRO_BUF_BYTES)

// TUN offloads (tunv.c): wn_tunv_enable allocates the state of a reader of a device opened
// with IFF_VNET_HDR (false when out of memory); wn_tunv_fill replaces the plain TUN fill.
// wn_reader_pending tells whether packets of a GRO buffer or a TUN super-packet still wait for
// a slot, which a reader must drain before it waits for the descriptor.
bool wn_tunv_enable(wn_reader *r);
void wn_tunv_free(wn_reader *r);
uint32_t wn_tunv_fill(wn_reader *r, wn_entry *e, int *err, bool *full);
bool wn_reader_pending(const wn_reader *r);

// The poller ('poll' mode). wn_poller_start throws and returns false on failure, leaving r for
// reader_free; wn_poller_stop makes sure no callback runs again and is safe to call twice.
bool wn_poller_start(napi_env env, wn_reader *r, napi_value handle, napi_value on_batch);
void wn_poller_stop(napi_env env, wn_reader *r);

#endif
