// The poller ('poll' mode): the reader's duplicate descriptor is watched by a uv_poll_t on the
// event loop, so libuv's own epoll wakes the JS thread directly and the batch is read and handed
// to onBatch right there, with no thread hop in between. That halves the wake-ups per packet
// compared with 'thread' mode, which is what a ping's round trip pays for four times.
//
// Callbacks run as any libuv-driven event does (like a socket's 'data'): inside a callback
// scope with their own async context, so promise jobs and nextTicks run when onBatch returns,
// async hooks see a 'warren.reader' resource, and a throw becomes an uncaught exception.
//
// Teardown: libuv calls the close callback on a later loop iteration. When a worker's
// environment is destroyed, Node unloads the addon (and frees the reader through its handle's
// finalizer), so a close still pending by then would call into unmapped code. Each poll handle
// therefore holds an asynchronous cleanup hook, which makes teardown run the loop until the
// close callback has released it.
#include "reader.h"

#include <errno.h>
#include <stdlib.h>

// MAX_ROUNDS bounds the batches read in one wake-up while the kernel keeps more queued, so that
// a busy descriptor cannot starve the loop's other handles (timers, the local API, the other
// reader). epoll is level-triggered, so whatever is left wakes the poller again next iteration.
#define MAX_ROUNDS 8

// wn_poll is the uv handle with what must outlive the reader until libuv is done with it.
typedef struct wn_poll {
  uv_poll_t uv;   // first: the handle's address is the struct's
  wn_reader *r;   // NULL once the reader has let go
  napi_async_cleanup_hook_handle hook;
} wn_poll;

static void on_poll(uv_poll_t *h, int status, int events);

static void on_closed(uv_handle_t *h) {
  wn_poll *p = (wn_poll *)h;
  napi_async_cleanup_hook_handle hook = p->hook;
  free(p);
  // Whether or not teardown has started, this is where libuv stops needing the addon's code.
  if (hook != NULL) napi_remove_async_cleanup_hook(hook);
}

// teardown runs when the environment goes away: stop a reader that is still running; if it
// was stopped already, its close is pending and on_closed finishes the hook.
static void teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  wn_poll *p = arg;
  if (p->r != NULL) wn_reader_stop(p->r->env, p->r, true);
}

// release_js drops what the poller holds in the JS heap. It waits while a callback runs, since
// that callback is running inside the async context.
static void release_js(napi_env env, wn_reader *r) {
  if (r->dispatching) return;
  if (r->async_ctx != NULL) {
    napi_async_destroy(env, r->async_ctx);
    r->async_ctx = NULL;
  }
  if (r->on_batch != NULL) {
    napi_delete_reference(env, r->on_batch);
    r->on_batch = NULL;
  }
}

void wn_poller_stop(napi_env env, wn_reader *r) {
  if (r->poll != NULL) {
    // uv_close also stops the watcher and removes the descriptor from epoll, so the caller
    // may close it right after. The handle may outlive r, so cut its link to r first.
    r->poll->r = NULL;
    uv_close((uv_handle_t *)&r->poll->uv, on_closed);
    r->poll = NULL;
  }
  release_js(env, r);
}

bool wn_poller_start(napi_env env, wn_reader *r, napi_value handle, napi_value on_batch) {
  uv_loop_t *loop;
  napi_value name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      napi_create_reference(env, on_batch, 1, &r->on_batch) != napi_ok ||
      napi_create_string_utf8(env, "warren.reader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, handle, name, &r->async_ctx) != napi_ok)
    return false;
  wn_poll *p = calloc(1, sizeof *p);
  if (p == NULL) {
    wn_throw_errno(env, ENOMEM, "startReader");
    return false;
  }
  int rc = uv_poll_init(loop, &p->uv, r->io_fd);
  if (rc < 0) {
    free(p); // never registered with the loop, so no uv_close
    wn_throw_errno(env, -rc, "startReader: uv_poll_init fd %d", r->fd);
    return false;
  }
  p->r = r;
  r->poll = p; // from here on the caller's wn_poller_stop closes it
  if (napi_add_async_cleanup_hook(env, teardown, p, &p->hook) != napi_ok) {
    p->hook = NULL;
    return false;
  }
  rc = uv_poll_start(&p->uv, UV_READABLE, on_poll);
  if (rc < 0) {
    wn_throw_errno(env, -rc, "startReader: uv_poll_start fd %d", r->fd);
    return false;
  }
  return true;
}

// call runs fn(argv[0..argc)) with the reader handle as `this`, as an event callback.
static void call(napi_env env, wn_reader *r, napi_value self, napi_value fn, size_t argc, napi_value *argv) {
  r->dispatching = true;
  napi_make_callback(env, r->async_ctx, self, fn, argc, argv, NULL);
  r->dispatching = false;
  wn_rethrow(env);
}

// fail stops the polling for good and reports the error to onError; stop() still has to be
// called to close the descriptor, as in 'thread' mode.
static void fail(napi_env env, wn_reader *r, napi_value self, int err, const char *op) {
  napi_value fn, arg;
  r->failed = true;
  uv_poll_stop(&r->poll->uv);
  if (r->on_error == NULL || napi_get_reference_value(env, r->on_error, &fn) != napi_ok ||
      fn == NULL)
    return;
  arg = wn_errno_error(env, err, "%s fd %d", op, r->fd);
  if (arg != NULL) call(env, r, self, fn, 1, &arg);
}

// deliver calls onBatch(batch, count). The count goes as an argument, which the JS side stores
// in batch.count (native/index.ts): napi_set_named_property looked the name up in V8's string
// table and stored through the runtime on every batch, about 8 µs of a lone packet's path.
static void deliver(napi_env env, wn_reader *r, napi_value self, napi_value cb, wn_entry *e,
                    uint32_t count) {
  napi_value argv[2];
  e->count = count;
  WN_COUNT(r, batches, 1);
  WN_COUNT(r, packets, count);
  if (napi_get_reference_value(env, e->batch, &argv[0]) == napi_ok &&
      napi_create_uint32(env, count, &argv[1]) == napi_ok)
    call(env, r, self, cb, 2, argv);
}

// read_rounds reads and delivers batches until the descriptor is drained, MAX_ROUNDS is
// reached, or a callback stops the reader. error_event: libuv saw POLLERR and stopped the
// watcher; a read tells what the condition is (EBADFD for a deleted TUN device, a socket
// error for UDP), and only a fatal one ends the reader.
static void read_rounds(napi_env env, wn_reader *r, napi_value self, napi_value cb,
                        bool error_event) {
  const char *op = r->kind == WN_KIND_TUN ? "read tun" : "recvmmsg";
  wn_entry *e = &r->entries[0];
  for (int round = 0;; round++) {
    int err = 0;
    bool full = false;
    // A lone packet on an idle adapter goes to JS right after the read that found it. Reading
    // on until EAGAIN first, as a batch does, put one more system call between the application's
    // packet and its sendmmsg, on both ends of every round trip (recvmmsg needs no second call:
    // it returns what is queued). The next round reads on, so packets behind it still batch.
    bool lone = r->kind == WN_KIND_TUN && round == 0 && !r->busy_tun;
    r->read_limit = lone ? 1 : 0;
    uint32_t count = wn_reader_fill(r, e, &err, &full);
    r->read_limit = 0;
    if (r->kind == WN_KIND_TUN && !lone) r->busy_tun = count > 1 || full;
    // An error condition that no read clears would wake the poller forever: treat it as fatal,
    // as the thread does.
    if (error_event && round == 0 && count == 0 && err == 0 && !full) {
      WN_COUNT(r, errors, 1);
      fail(env, r, self, EIO, "poll");
      return;
    }
    if (count > 0) {
      deliver(env, r, self, cb, e, count);
      if (r->stopped) return; // stop() from onBatch or from an uncaughtException handler
    }
    if (err != 0) {
      WN_COUNT(r, errors, 1);
      if (!wn_reader_transient(err)) {
        fail(env, r, self, err, op);
        return;
      }
    }
    if (!full) break;
    // Datagrams still pending from a coalesced GRO buffer would wait for the next datagram to
    // wake the poller, since the socket may be empty: they are delivered now (at most
    // WN_GRO_BUFS * 64 more, so the loop stays bounded).
    if (round + 1 >= MAX_ROUNDS && !wn_reader_pending(r)) break;
  }
  if (error_event) {
    int rc = uv_poll_start(&r->poll->uv, UV_READABLE, on_poll);
    if (rc < 0) fail(env, r, self, -rc, "poll");
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  wn_reader *r = ((wn_poll *)h)->r;
  if (r == NULL || r->stopped || r->failed) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_value self = NULL, cb = NULL;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  // The local `self` keeps the handle, and with it r, alive to the end of this function even if
  // a callback stops the reader and drops every other reference to the handle.
  if (r->self != NULL && napi_get_reference_value(env, r->self, &self) == napi_ok &&
      self != NULL && napi_get_reference_value(env, r->on_batch, &cb) == napi_ok && cb != NULL) {
    read_rounds(env, r, self, cb, status < 0);
    // The answer to what was just read or sent may come back within microseconds: keep a CPU
    // from halting deeply meanwhile (ticker.c).
    wn_instance *inst = wn_instance_get(env);
    if (inst != NULL) wn_ticker_poke(inst->ticker);
  } else {
    // Only out of memory gets here; polling on would spin on the readable descriptor.
    r->failed = true;
    uv_poll_stop(h);
  }
  if (r->stopped) release_js(env, r); // deferred by a stop() inside a callback
  napi_close_handle_scope(env, scope);
}
