// The batch forms of ChaCha20-Poly1305 (aead.c has the construction, WireGuard whitepaper
// §5.4.6): one call seals or opens a whole batch in place, on the JS thread and, when the
// crypto pool is on (aeadThreads), on its worker threads too. Each call first copies the
// batch's offsets, lengths, key numbers and counters into native memory, WN_MAX_BATCH at a
// time, checking every span against buf, so that the workers read nothing JS could change and
// arrays that share memory with buf cannot move a packet out of bounds.
#include "common.h"
#include "pool.h"

#include <stdio.h>
#include <string.h>

typedef struct item {
  uint32_t off, len;
  uint64_t ctr;
  uint32_t key;
  bool valid; // false: a wire counter that is no integer below 2^53 fails its packet
} item;

typedef struct job {
  bool enc;
  const uint8_t *keys;
  uint8_t *buf;
  item items[WN_MAX_BATCH];
  uint8_t ok[WN_MAX_BATCH];
} job;

static void work(void *arg, uint32_t begin, uint32_t end, wn_cipher *c) {
  job *j = arg;
  for (uint32_t i = begin; i < end; i++) {
    const item *it = &j->items[i];
    const uint8_t *key = j->keys + (size_t)it->key * WN_KEY_LEN;
    uint8_t *p = j->buf + it->off;
    j->ok[i] = it->valid && (j->enc ? wn_seal(c, key, it->ctr, p, it->len) : wn_open(c, key, it->ctr, p, it->len));
  }
}

// spec is one call's arguments: either one key and counters from `first` on (keys_len 32,
// key_index and counters NULL), or a key number and a counter per packet.
typedef struct spec {
  const char *fn;
  bool enc;
  const uint8_t *keys;
  size_t nkeys;
  const uint16_t *key_index;
  const double *counters;
  double first;
  uint8_t *buf;
  size_t buf_len;
  const uint32_t *offsets, *lengths;
  uint32_t count;
  uint8_t *ok; // per-packet results for JS, or NULL
} spec;

// fill copies packets [base, base + n) into j; false (after throwing) if a span left buf.
static bool fill(napi_env env, const spec *s, job *j, uint32_t base, uint32_t n, uint64_t *bytes) {
  size_t extra = s->enc ? WN_TAG_LEN : 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = base + k, off = s->offsets[i], len = s->lengths[i];
    uint32_t key = s->key_index == NULL ? 0 : s->key_index[i];
    if (len > WN_MAX_LEN || (uint64_t)off + len + extra > s->buf_len || key >= s->nkeys) {
      wn_throw_range(env, "%s: packet %u (offset %u, length %u, key %u) is outside buf or keys; do "
                     "the offsets, lengths or keyIndex share memory with buf?", s->fn, i, off, len, key);
      return false;
    }
    double ctr = s->counters == NULL ? s->first + i : s->counters[i];
    item *it = &j->items[k];
    it->off = off;
    it->len = len;
    it->key = key;
    it->valid = ctr >= 0 && ctr <= WN_MAX_COUNTER && ctr == (double)(uint64_t)ctr;
    it->ctr = it->valid ? (uint64_t)ctr : 0;
    *bytes += len;
  }
  return true;
}

// run works the whole batch; returns how many packets succeeded, or -1 after throwing.
static double run(napi_env env, const spec *s) {
  static __thread job j; // per thread: every Node environment runs on its own thread
  wn_instance *inst = wn_instance_get(env);
  wn_cipher *c = wn_cipher_get(env);
  if (inst == NULL || c == NULL) return -1;
  j.enc = s->enc;
  j.keys = s->keys;
  j.buf = s->buf;
  double good = 0;
  for (uint32_t base = 0; base < s->count; base += WN_MAX_BATCH) {
    uint32_t n = s->count - base < WN_MAX_BATCH ? s->count - base : WN_MAX_BATCH;
    uint64_t bytes = 0;
    if (!fill(env, s, &j, base, n, &bytes)) return -1;
    // Waking a worker costs a few microseconds; below pool_min_bytes it would not pay.
    wn_pool *pool = bytes >= inst->pool_min_bytes ? inst->pool : NULL;
    wn_pool_run(pool, work, &j, n, c);
    for (uint32_t k = 0; k < n; k++) {
      if (s->ok != NULL) s->ok[base + k] = j.ok[k];
      good += j.ok[k];
    }
  }
  return good;
}

static bool read_spans(napi_env env, spec *s, napi_value *argv) {
  char what[48];
  size_t n_off, n_len;
  snprintf(what, sizeof what, "%s: buf", s->fn);
  if (!wn_arg_bytes(env, argv[0], what, &s->buf, &s->buf_len)) return false;
  snprintf(what, sizeof what, "%s: offsets", s->fn);
  if (!wn_arg_array(env, argv[1], what, napi_uint32_array, (void **)&s->offsets, &n_off)) return false;
  snprintf(what, sizeof what, "%s: lengths", s->fn);
  if (!wn_arg_array(env, argv[2], what, napi_uint32_array, (void **)&s->lengths, &n_len)) return false;
  snprintf(what, sizeof what, "%s: count", s->fn);
  if (!wn_arg_u32(env, argv[3], what, 0, UINT32_MAX, &s->count)) return false;
  if (s->count > n_off || s->count > n_len) {
    wn_throw_range(env, "%s: count %u exceeds the arrays (%zu, %zu)", s->fn, s->count, n_off, n_len);
    return false;
  }
  return true;
}

// read_keys reads keys (a non-empty multiple of 32 bytes), keyIndex and counters.
static bool read_keys(napi_env env, spec *s, napi_value *argv) {
  uint8_t *keys;
  size_t keys_len, n_idx, n_ctr;
  char what[48];
  snprintf(what, sizeof what, "%s: keys", s->fn);
  if (!wn_arg_bytes(env, argv[0], what, &keys, &keys_len)) return false;
  snprintf(what, sizeof what, "%s: keyIndex", s->fn);
  if (!wn_arg_array(env, argv[1], what, napi_uint16_array, (void **)&s->key_index, &n_idx)) return false;
  snprintf(what, sizeof what, "%s: counters", s->fn);
  if (!wn_arg_array(env, argv[2], what, napi_float64_array, (void **)&s->counters, &n_ctr)) return false;
  if (keys_len == 0 || keys_len % WN_KEY_LEN != 0) {
    wn_throw_range(env, "%s: keys must be a non-empty multiple of %u bytes, got %zu", s->fn, WN_KEY_LEN,
                   keys_len);
    return false;
  }
  if (s->count > n_idx || s->count > n_ctr) {
    wn_throw_range(env, "%s: count %u exceeds keyIndex or counters", s->fn, s->count);
    return false;
  }
  s->keys = keys;
  s->nkeys = keys_len / WN_KEY_LEN;
  return true;
}

napi_value wn_aead_seal_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint8_t *key;
  spec s = {.fn = "aeadSealBatch", .enc = true, .nkeys = 1};
  if (!wn_args(env, info, 6, argv) || !wn_arg_key(env, argv[0], "aeadSealBatch: key", &key) ||
      !wn_arg_int(env, argv[1], "aeadSealBatch: firstCounter", 0, WN_MAX_COUNTER, &s.first) ||
      !read_spans(env, &s, argv + 2))
    return NULL;
  if (s.count > 0 && s.first + (s.count - 1) > WN_MAX_COUNTER)
    return wn_throw_range(env, "aeadSealBatch: counters %.0f + %u pass 2^53 - 1", s.first, s.count);
  s.keys = key;
  double good = run(env, &s);
  if (good >= 0 && good < s.count) napi_throw_error(env, NULL, "aeadSealBatch: OpenSSL failed");
  return NULL;
}

// aeadSealMany seals packet i with key keyIndex[i] and counter counters[i]: the send path's
// batch, whose packets may belong to several peers.
napi_value wn_aead_seal_many(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  spec s = {.fn = "aeadSealMany", .enc = true};
  if (!wn_args(env, info, 7, argv) || !read_spans(env, &s, argv + 3) || !read_keys(env, &s, argv))
    return NULL;
  for (uint32_t i = 0; i < s.count; i++) {
    double c = s.counters[i];
    // Our own counters, unlike the wire's: a bad one is a bug in the caller.
    if (!(c >= 0 && c <= WN_MAX_COUNTER && c == (double)(uint64_t)c))
      return wn_throw_range(env, "aeadSealMany: counters[%u] = %g is not an integer in [0, 2^53 - 1]", i, c);
  }
  double good = run(env, &s);
  if (good >= 0 && good < s.count) napi_throw_error(env, NULL, "aeadSealMany: OpenSSL failed");
  return NULL;
}

// aeadOpenBatch takes counters as read from the wire, so a counter that is not a valid integer
// below 2^53 (or a packet shorter than a tag) fails that packet instead of throwing.
napi_value wn_aead_open_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  size_t n_ok;
  spec s = {.fn = "aeadOpenBatch", .enc = false};
  if (!wn_args(env, info, 8, argv) || !read_spans(env, &s, argv + 3) || !read_keys(env, &s, argv) ||
      !wn_arg_array(env, argv[7], "aeadOpenBatch: ok", napi_uint8_array, (void **)&s.ok, &n_ok))
    return NULL;
  if (s.count > n_ok) return wn_throw_range(env, "aeadOpenBatch: count %u exceeds ok (%zu)", s.count, n_ok);
  double good = run(env, &s);
  return good < 0 ? NULL : wn_number(env, good);
}

// aeadThreads(workers, minBytes) replaces the pool with one of `workers` threads (0: none) and
// sets the smallest batch, in bytes, that is shared with them; returns the workers running.
napi_value wn_aead_threads(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t workers, min_bytes;
  wn_instance *inst = wn_instance_get(env);
  if (!wn_args(env, info, 2, argv) ||
      !wn_arg_u32(env, argv[0], "aeadThreads: workers", 0, WN_POOL_MAX_WORKERS, &workers) ||
      !wn_arg_u32(env, argv[1], "aeadThreads: minBytes", 0, UINT32_MAX, &min_bytes) || inst == NULL)
    return NULL;
  wn_pool_free(inst->pool); // joins the old workers: no batch is running, JS is here
  inst->pool = workers > 0 ? wn_pool_new((int)workers) : NULL;
  inst->pool_min_bytes = min_bytes;
  if (workers > 0 && inst->pool == NULL) {
    napi_throw_error(env, NULL, "aeadThreads: cannot start the crypto threads (out of memory or "
                                "threads?); run with WARREN_THREADS=off");
    return NULL;
  }
  return wn_number(env, wn_pool_workers(inst->pool));
}

// aeadThreadStats() is { workers, jobs, workerPackets }: jobs shared with the pool and the
// packets its workers (not the JS thread) sealed or opened.
napi_value wn_aead_thread_stats(napi_env env, napi_callback_info info) {
  (void)info;
  wn_instance *inst = wn_instance_get(env);
  uint64_t jobs, items;
  napi_value obj;
  if (inst == NULL || napi_create_object(env, &obj) != napi_ok) return NULL;
  wn_pool_stats(inst->pool, &jobs, &items);
  if (!wn_set(env, obj, "workers", wn_number(env, wn_pool_workers(inst->pool))) ||
      !wn_set(env, obj, "jobs", wn_number(env, (double)jobs)) ||
      !wn_set(env, obj, "workerPackets", wn_number(env, (double)items)))
    return NULL;
  return obj;
}
