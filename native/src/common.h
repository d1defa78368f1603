// Shared helpers of the Warren addon: argument checks that throw TypeError/RangeError instead of
// crashing (bad arguments are programming errors in the helper, never network input), errno
// errors carrying `.code`, and the per-environment instance data.
#ifndef WARREN_COMMON_H
#define WARREN_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// WN_TAILROOM is the space a reader leaves free at the end of every slot so that JS can pad a
// packet and append the 16-byte Poly1305 tag in place (see src-shared/lib/native/types.ts).
#define WN_TAILROOM 32u

// WN_MAX_BATCH bounds every batch: the kernel's UIO_MAXIOV limit for recvmmsg/sendmmsg.
#define WN_MAX_BATCH 1024u

// wn_instance is the state of one Node environment (one JS thread). The EVP contexts live here
// rather than in statics so that worker threads each get their own.
typedef struct wn_instance {
  struct wn_cipher *cipher; // aead.h; the JS thread's own contexts
  struct wn_pool *pool;     // pool.h; crypto worker threads, NULL while there are none
  uint32_t pool_min_bytes;  // batches smaller than this stay on the JS thread
  napi_ref reader_class;
  void *coalesce; // wn_coalesce_scratch *, tunv_write.c
  struct wn_ticker *ticker; // ticker.c; NULL while off
} wn_instance;

wn_instance *wn_instance_get(napi_env env);

// Each wn_arg_* helper returns false after throwing, so callers just `return NULL`.
bool wn_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
bool wn_arg_int(napi_env env, napi_value v, const char *what, double min, double max, double *out);
bool wn_arg_u32(napi_env env, napi_value v, const char *what, uint32_t min, uint32_t max,
                uint32_t *out);
bool wn_arg_fd(napi_env env, napi_value v, const char *fn, int *out);
bool wn_arg_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len);
bool wn_arg_array(napi_env env, napi_value v, const char *what, napi_typedarray_type type,
                  void **data, size_t *count);
bool wn_arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t cap,
                   size_t *len);
bool wn_arg_function(napi_env env, napi_value v, const char *what, bool optional, bool *present);
bool wn_check_span(napi_env env, const char *what, uint32_t i, uint64_t off, uint64_t len,
                   size_t total);

napi_value wn_throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
napi_value wn_throw_range(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
napi_value wn_errno_error(napi_env env, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
napi_value wn_throw_errno(napi_env env, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// wn_rethrow turns an exception left pending by a callback into an uncaught exception, as for
// any other event callback, instead of letting Node print and swallow it.
void wn_rethrow(napi_env env);

napi_value wn_number(napi_env env, double v);
napi_value wn_bool(napi_env env, bool v);
bool wn_set(napi_env env, napi_value obj, const char *key, napi_value v);

// Functions exported to JS, one group per source file.
napi_value wn_tun_open(napi_env env, napi_callback_info info);
napi_value wn_udp_open(napi_env env, napi_callback_info info);
napi_value wn_close_fd(napi_env env, napi_callback_info info);
napi_value wn_set_mark(napi_env env, napi_callback_info info);
napi_value wn_peer_credentials(napi_env env, napi_callback_info info);
napi_value wn_tun_write_batch(napi_env env, napi_callback_info info);
napi_value wn_udp_send_batch(napi_env env, napi_callback_info info);
napi_value wn_udp_send(napi_env env, napi_callback_info info);
napi_value wn_udp_gso_supported(napi_env env, napi_callback_info info);
napi_value wn_aead_seal(napi_env env, napi_callback_info info);
napi_value wn_aead_open(napi_env env, napi_callback_info info);
napi_value wn_aead_seal_batch(napi_env env, napi_callback_info info);
napi_value wn_aead_open_batch(napi_env env, napi_callback_info info);
napi_value wn_aead_seal_many(napi_env env, napi_callback_info info);
napi_value wn_aead_threads(napi_env env, napi_callback_info info);
napi_value wn_aead_thread_stats(napi_env env, napi_callback_info info);
napi_value wn_start_reader(napi_env env, napi_callback_info info);
napi_value wn_boottime_ms(napi_env env, napi_callback_info info);
napi_value wn_idle_other_threads(napi_env env, napi_callback_info info);
napi_value wn_thread_slice(napi_env env, napi_callback_info info);
napi_value wn_reader_buffer(napi_env env, napi_callback_info info);
napi_value wn_packet_pair(napi_env env, napi_callback_info info);
napi_value wn_wake_ticker(napi_env env, napi_callback_info info);
napi_value wn_wake_ticker_stats(napi_env env, napi_callback_info info);

napi_value wn_vnet_split_js(napi_env env, napi_callback_info info);
napi_value wn_vnet_coalesce_js(napi_env env, napi_callback_info info);
napi_value wn_splice_init(napi_env env, napi_callback_info info);
napi_value wn_splice_start(napi_env env, napi_callback_info info);
napi_value wn_splice_stop(napi_env env, napi_callback_info info);
napi_value wn_splice_count(napi_env env, napi_callback_info info);

bool wn_aead_init(napi_env env, wn_instance *inst);
void wn_aead_free(wn_instance *inst);
// wn_cipher_get is the environment's cipher, or NULL after throwing.
struct wn_cipher *wn_cipher_get(napi_env env);
bool wn_arg_key(napi_env env, napi_value v, const char *what, uint8_t **key);
bool wn_reader_class_init(napi_env env, wn_instance *inst);

// The wake ticker (ticker.c): a poke after every data-path wake-up; free stops and joins it.
void wn_ticker_poke(struct wn_ticker *t);
void wn_ticker_free(struct wn_ticker *t);

#endif
