// The JS side of a reader: startReader() builds the pool and starts the thread or the poller,
// call_js() delivers the thread's batches on the event loop, and the NativeReader handle stops
// the reader and reports counters.
//
// Lifetime: the wn_reader struct is freed once the JS handle and, in 'thread' mode, the
// threadsafe function have been finalized (`holds`); the poller's uv handle may outlive the
// struct but lets go of it when stopped (see poller.c). While the reader runs the handle is
// pinned (`self`), so dropping the handle without stop() cannot pull memory from under the
// thread or the poll callback; at environment teardown a cleanup hook stops the reader before
// Node closes the threadsafe function and runs the handle's finalizer.
#include "reader.h"
#include "pktinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

// Limits on startReader's options: the kernel's batch limit, the largest IP packet, and a cap on
// the memory one reader may pin.
#define MAX_HEADROOM 4096u
#define MAX_PACKET 65535u
#define MAX_POOL 64u
#define MAX_POOL_BYTES (256u * 1024u * 1024u)

static void reader_free(napi_env env, wn_reader *r) {
  for (uint32_t i = 0; r->entries != NULL && i < r->pool; i++) {
    if (r->entries[i].batch != NULL) napi_delete_reference(env, r->entries[i].batch);
  }
  if (r->on_error != NULL) napi_delete_reference(env, r->on_error);
  if (r->on_batch != NULL) napi_delete_reference(env, r->on_batch);
  if (r->self != NULL) napi_delete_reference(env, r->self);
  if (r->wake_fd >= 0) close(r->wake_fd);
  if (r->io_fd >= 0) close(r->io_fd);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r->entries);
  free(r->msgs);
  free(r->iov);
  free(r->names);
  free(r->ctl);
  wn_gro_free(r);
  wn_tunv_free(r);
  free(r);
}

static void drop_hold(napi_env env, wn_reader *r) {
  if (--r->holds == 0) reader_free(env, r);
}

static void env_cleanup(void *arg);

// wn_reader_stop ends the thread or the poller and guarantees no further callbacks. From a
// cleanup hook it leaves the threadsafe function to Node, which closes it right after.
void wn_reader_stop(napi_env env, wn_reader *r, bool from_hook) {
  if (r->stopped) return;
  r->stopped = true;
  // The poller goes first: libuv must forget the descriptor before it is closed.
  if (r->mode == WN_MODE_POLL) wn_poller_stop(env, r);
  if (r->running) {
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    uint64_t one = 1;
    while (write(r->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    pthread_join(r->thread, NULL);
    r->running = false;
  }
  if (r->io_fd >= 0) {
    close(r->io_fd); // the device or socket closes now if the caller closed its descriptor
    r->io_fd = -1;
  }
  if (r->cleanup_hook && !from_hook) napi_remove_env_cleanup_hook(env, env_cleanup, r);
  r->cleanup_hook = false;
  // Abort rather than release: batches still queued are dropped instead of delivered.
  if (!from_hook && r->tsfn != NULL) napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
  if (r->self != NULL) {
    napi_delete_reference(env, r->self);
    r->self = NULL;
  }
}

static void env_cleanup(void *arg) {
  wn_reader *r = arg;
  wn_reader_stop(r->env, r, true);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  drop_hold(env, data);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  wn_reader *r = data;
  wn_reader_stop(env, r, false); // a no-op unless teardown skipped the cleanup hook
  drop_hold(env, r);
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  // A NULL env means the function is being torn down, possibly after the struct was freed:
  // the thread is joined by then, so there is nothing to hand back.
  if (env == NULL) return;
  wn_reader *r = context;
  napi_value undef, arg;
  napi_get_undefined(env, &undef);
  if (data == WN_ERROR_MARKER(r)) {
    napi_value fn;
    if (r->stopped || r->on_error == NULL ||
        napi_get_reference_value(env, r->on_error, &fn) != napi_ok || fn == NULL)
      return;
    arg = wn_errno_error(env, r->fatal_err, "%s fd %d", r->fatal_op, r->fd);
    if (arg != NULL) napi_call_function(env, undef, fn, 1, &arg, NULL);
    wn_rethrow(env);
    return;
  }
  wn_entry *e = data;
  if (!r->stopped) {
    // onBatch(batch, count), as in 'poll' mode (poller.c, deliver).
    napi_value argv[2];
    if (napi_get_reference_value(env, e->batch, &argv[0]) == napi_ok &&
        napi_create_uint32(env, e->count, &argv[1]) == napi_ok)
      napi_call_function(env, undef, cb, 2, argv, NULL);
    wn_rethrow(env);
  }
  wn_reader_release_entry(r, e);
}

static bool make_array(napi_env env, napi_typedarray_type type, size_t elem, size_t n,
                       napi_value *out, void **data) {
  napi_value ab;
  if (napi_create_arraybuffer(env, elem * n, data, &ab) != napi_ok ||
      napi_create_typedarray(env, type, n, ab, 0, out) != napi_ok)
    return false;
  memset(*data, 0, elem * n);
  return true;
}

// wn_reader_buffer(bytes) returns a zeroed Buffer made as make_entry makes a pool entry's.
// Node gives a Buffer made in C another hidden class than one made in JS (it sets the
// prototype afterwards), and optimized code checks the class: batches built in memory for the
// packet path's warm-up (helper/src/wireguard/device/loop-io.ts) use these, so the code warmed
// on them is the code the readers' batches run.
napi_value wn_reader_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], buf;
  uint32_t bytes;
  void *mem;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "readerBuffer: bytes is required");
    return NULL;
  }
  if (!wn_arg_u32(env, argv[0], "readerBuffer: bytes", 1, MAX_POOL_BYTES, &bytes)) return NULL;
  if (napi_create_buffer(env, bytes, &mem, &buf) != napi_ok) return NULL;
  memset(mem, 0, bytes);
  return buf;
}

// make_entry creates one pool entry's Batch object; offsets never change, so they are set once.
static bool make_entry(napi_env env, wn_reader *r, wn_entry *e) {
  size_t bytes = (size_t)r->max_batch * r->slot_size;
  napi_value buf, batch, offsets, lengths, words, ports, local, ifindex;
  void *mem;
  uint32_t *offs;
  if (napi_create_buffer(env, bytes, &mem, &buf) != napi_ok ||
      !make_array(env, napi_uint32_array, 4, r->max_batch, &offsets, (void **)&offs) ||
      !make_array(env, napi_uint32_array, 4, r->max_batch, &lengths, (void **)&e->lengths) ||
      !make_array(env, napi_uint32_array, 4, (size_t)r->max_batch * 4, &words, (void **)&e->addr_words) ||
      !make_array(env, napi_uint16_array, 2, r->max_batch, &ports, (void **)&e->ports) ||
      !make_array(env, napi_uint32_array, 4, (size_t)r->max_batch * 4, &local, (void **)&e->local_words) ||
      !make_array(env, napi_uint32_array, 4, r->max_batch, &ifindex, (void **)&e->ifindex) ||
      napi_create_object(env, &batch) != napi_ok)
    return false;
  memset(mem, 0, bytes); // never show JS stale heap contents in the gaps between packets
  e->mem = mem;
  for (uint32_t i = 0; i < r->max_batch; i++) offs[i] = i * r->slot_size + r->headroom;
  return wn_set(env, batch, "buf", buf) && wn_set(env, batch, "count", wn_number(env, 0)) &&
         wn_set(env, batch, "offsets", offsets) && wn_set(env, batch, "lengths", lengths) &&
         wn_set(env, batch, "addrWords", words) && wn_set(env, batch, "ports", ports) &&
         wn_set(env, batch, "localWords", local) && wn_set(env, batch, "ifindex", ifindex) &&
         napi_create_reference(env, batch, 1, &e->batch) == napi_ok;
}

static bool opt_u32(napi_env env, napi_value opts, const char *key, uint32_t min, uint32_t max,
                    uint32_t *out) {
  napi_value v;
  char what[48];
  snprintf(what, sizeof what, "startReader: opts.%s", key);
  return napi_get_named_property(env, opts, key, &v) == napi_ok &&
         wn_arg_u32(env, v, what, min, max, out);
}

// read_mode sets r->mode from opts.mode, which defaults to 'thread'.
static bool read_mode(napi_env env, napi_value opts, wn_reader *r) {
  napi_value v;
  napi_valuetype t;
  char mode[8];
  size_t len;
  r->mode = WN_MODE_THREAD;
  if (napi_get_named_property(env, opts, "mode", &v) != napi_ok ||
      napi_typeof(env, v, &t) != napi_ok)
    return false;
  if (t == napi_undefined) return true;
  if (!wn_arg_string(env, v, "startReader: opts.mode", mode, sizeof mode, &len)) return false;
  if (strcmp(mode, "poll") == 0) r->mode = WN_MODE_POLL;
  else if (strcmp(mode, "thread") != 0) {
    wn_throw_range(env, "startReader: opts.mode must be 'thread' or 'poll', got '%s'", mode);
    return false;
  }
  return true;
}

// read_flag reads the optional boolean opts[key], which applies to readers of `kind` only.
static bool read_flag(napi_env env, napi_value opts, wn_reader *r, const char *key, wn_kind kind, bool *out) {
  napi_value v;
  napi_valuetype t;
  *out = false;
  if (napi_get_named_property(env, opts, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return false;
  if (t == napi_undefined) return true;
  if (t != napi_boolean) {
    wn_throw_type(env, "startReader: opts.%s must be a boolean", key);
    return false;
  }
  napi_get_value_bool(env, v, out);
  if (*out && r->kind != kind) {
    wn_throw_range(env, "startReader: opts.%s applies to '%s' readers only", key, kind == WN_KIND_UDP ? "udp" : "tun");
    return false;
  }
  return true;
}

// read_options fills r's geometry and mode from (kind, opts) and returns opts.onError in
// *on_error.
static bool read_options(napi_env env, napi_value *argv, wn_reader *r, napi_value *on_error, bool *gro,
                         bool *vnet) {
  char kind[8];
  size_t len;
  napi_valuetype t;
  if (!wn_arg_string(env, argv[1], "startReader: kind", kind, sizeof kind, &len)) return false;
  if (strcmp(kind, "tun") == 0) r->kind = WN_KIND_TUN;
  else if (strcmp(kind, "udp") == 0) r->kind = WN_KIND_UDP;
  else {
    wn_throw_range(env, "startReader: kind must be 'tun' or 'udp', got '%s'", kind);
    return false;
  }
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_object) {
    wn_throw_type(env, "startReader: opts must be an object");
    return false;
  }
  bool has_error_cb;
  if (!opt_u32(env, argv[2], "maxBatch", 1, WN_MAX_BATCH, &r->max_batch) ||
      !opt_u32(env, argv[2], "headroom", 0, MAX_HEADROOM, &r->headroom) ||
      !opt_u32(env, argv[2], "slotSize", r->headroom + WN_TAILROOM + 1,
               r->headroom + WN_TAILROOM + MAX_PACKET, &r->slot_size) ||
      !opt_u32(env, argv[2], "pool", 1, MAX_POOL, &r->pool) ||
      napi_get_named_property(env, argv[2], "onError", on_error) != napi_ok ||
      !wn_arg_function(env, *on_error, "startReader: opts.onError", true, &has_error_cb) ||
      !read_mode(env, argv[2], r) || !read_flag(env, argv[2], r, "gro", WN_KIND_UDP, gro) ||
      !read_flag(env, argv[2], r, "vnetHdr", WN_KIND_TUN, vnet))
    return false;
  if (!has_error_cb) *on_error = NULL;
  // onBatch runs synchronously in 'poll' mode, so an entry is always free again before the
  // next read: a second one would only pin memory.
  if (r->mode == WN_MODE_POLL) r->pool = 1;
  if ((uint64_t)r->max_batch * r->slot_size * r->pool + (*gro ? WN_GRO_BYTES : 0) > MAX_POOL_BYTES) {
    wn_throw_range(env, "startReader: maxBatch * slotSize * pool (plus %u bytes for GRO) exceeds %u bytes",
                   *gro ? (unsigned)WN_GRO_BYTES : 0u, MAX_POOL_BYTES);
    return false;
  }
  r->cap = r->slot_size - r->headroom - WN_TAILROOM;
  return true;
}

// throw_if_quiet makes sure a failed N-API call surfaces as an exception.
static void throw_if_quiet(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
    napi_throw_error(env, NULL, "startReader: out of memory or N-API failure");
}

// pin keeps a started reader's handle alive until stop() and, for a thread, registers the
// teardown hook (the poller has an asynchronous one of its own).
static napi_value pin(napi_env env, wn_reader *r, napi_value handle) {
  napi_create_reference(env, handle, 1, &r->self);
  if (r->mode == WN_MODE_THREAD && napi_add_env_cleanup_hook(env, env_cleanup, r) == napi_ok)
    r->cleanup_hook = true;
  return handle;
}

static bool start_thread(wn_reader *r, int *err) {
  // The thread takes no signals: they belong to the event loop thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  *err = pthread_create(&r->thread, NULL, wn_reader_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (*err != 0) return false;
  pthread_setname_np(r->thread, r->kind == WN_KIND_TUN ? "warren-tun" : "warren-udp");
  return true;
}

napi_value wn_start_reader(napi_env env, napi_callback_info info) {
  napi_value argv[4], on_error, handle, cls, name;
  int fd, err;
  bool has_cb, gro, vnet;
  wn_instance *inst = wn_instance_get(env);
  if (!wn_args(env, info, 4, argv) || !wn_arg_fd(env, argv[0], "startReader", &fd)) return NULL;
  wn_reader *r = calloc(1, sizeof *r);
  if (r == NULL) return wn_throw_errno(env, ENOMEM, "startReader");
  r->fd = fd;
  r->env = env;
  r->wake_fd = -1;
  r->io_fd = -1;
  r->stopped = true; // until the thread runs
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  if (!read_options(env, argv, r, &on_error, &gro, &vnet) ||
      !wn_arg_function(env, argv[3], "startReader: onBatch", false, &has_cb))
    goto fail;
  r->entries = calloc(r->pool, sizeof *r->entries);
  if (r->kind == WN_KIND_UDP) {
    r->msgs = calloc(r->max_batch, sizeof *r->msgs);
    r->iov = calloc(r->max_batch, sizeof *r->iov);
    r->names = calloc(r->max_batch, sizeof *r->names);
    r->ctl = calloc(r->max_batch, WN_RECV_CTL);
  }
  if (r->entries == NULL || (vnet && !wn_tunv_enable(r)) ||
      (r->kind == WN_KIND_UDP && (!r->msgs || !r->iov || !r->names || !r->ctl))) {
    wn_throw_errno(env, ENOMEM, "startReader");
    goto fail;
  }
  for (uint32_t i = 0; i < r->pool; i++) {
    if (!make_entry(env, r, &r->entries[i])) goto fail;
  }
  if (on_error != NULL && napi_create_reference(env, on_error, 1, &r->on_error) != napi_ok)
    goto fail;
  if (r->mode == WN_MODE_THREAD) r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->mode == WN_MODE_THREAD && r->wake_fd < 0) {
    wn_throw_errno(env, errno, "startReader: eventfd");
    goto fail;
  }
  // Reading a duplicate means closing `fd` early cannot make the reader read whatever file
  // later reuses that number, and gives libuv a descriptor no other poll handle watches.
  r->io_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r->io_fd < 0) {
    wn_throw_errno(env, errno, "startReader: fd %d", fd);
    goto fail;
  }
  // UDP_GRO is a socket option: it holds for the caller's descriptor too, and stays after stop().
  if (gro && !wn_gro_enable(r)) {
    wn_throw_errno(env, ENOMEM, "startReader: GRO buffers");
    goto fail;
  }
  if (inst == NULL || napi_get_reference_value(env, inst->reader_class, &cls) != napi_ok ||
      napi_new_instance(env, cls, 0, NULL, &handle) != napi_ok ||
      napi_wrap(env, handle, r, handle_finalize, NULL, NULL) != napi_ok)
    goto fail;
  r->holds = 1; // from here on the handle's finalizer owns r
  if (r->mode == WN_MODE_POLL) {
    if (!wn_poller_start(env, r, handle, argv[3])) {
      wn_poller_stop(env, r);
      throw_if_quiet(env);
      return NULL;
    }
    r->stopped = false;
    return pin(env, r, handle);
  }
  if (napi_create_string_utf8(env, "warren.reader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, r, tsfn_finalize, r, call_js,
                                      &r->tsfn) != napi_ok) {
    throw_if_quiet(env);
    return NULL;
  }
  r->holds++;
  r->stopped = false;
  if (!start_thread(r, &err)) {
    r->stopped = true;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return wn_throw_errno(env, err, "startReader: pthread_create");
  }
  r->running = true;
  return pin(env, r, handle);

fail:
  throw_if_quiet(env);
  reader_free(env, r);
  return NULL;
}

static wn_reader *unwrap(napi_env env, napi_callback_info info) {
  napi_value self;
  size_t argc = 0;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, NULL, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &p) != napi_ok || p == NULL) {
    wn_throw_type(env, "NativeReader method called on an object that is not a reader");
    return NULL;
  }
  return p;
}

static napi_value reader_stop_js(napi_env env, napi_callback_info info) {
  wn_reader *r = unwrap(env, info);
  if (r != NULL) wn_reader_stop(env, r, false);
  return NULL;
}

static napi_value reader_stats_js(napi_env env, napi_callback_info info) {
  wn_reader *r = unwrap(env, info);
  napi_value obj;
  if (r == NULL || napi_create_object(env, &obj) != napi_ok) return NULL;
  wn_set(env, obj, "batches", wn_number(env, (double)atomic_load(&r->batches)));
  wn_set(env, obj, "packets", wn_number(env, (double)atomic_load(&r->packets)));
  wn_set(env, obj, "truncated", wn_number(env, (double)atomic_load(&r->truncated)));
  wn_set(env, obj, "errors", wn_number(env, (double)atomic_load(&r->errors)));
  if (r->gro != NULL) wn_set(env, obj, "coalesced", wn_number(env, (double)atomic_load(&r->coalesced)));
  if (r->tunv != NULL) wn_set(env, obj, "split", wn_number(env, (double)atomic_load(&r->split)));
  return obj;
}

// reader_gro_js tells whether the reader receives with UDP GRO (asked for and granted).
static napi_value reader_gro_js(napi_env env, napi_callback_info info) {
  wn_reader *r = unwrap(env, info);
  return r == NULL ? NULL : wn_bool(env, r->gro != NULL);
}

static napi_value reader_ctor(napi_env env, napi_callback_info info) {
  napi_value self = NULL;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
  return self;
}

bool wn_reader_class_init(napi_env env, wn_instance *inst) {
  napi_property_descriptor methods[] = {
      {"stop", NULL, reader_stop_js, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, reader_stats_js, NULL, NULL, NULL, napi_default_method, NULL},
      {"gro", NULL, reader_gro_js, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  return napi_define_class(env, "NativeReader", NAPI_AUTO_LENGTH, reader_ctor, NULL,
                           sizeof methods / sizeof methods[0], methods, &cls) == napi_ok &&
         napi_create_reference(env, cls, 1, &inst->reader_class) == napi_ok;
}
