// ChaCha20-Poly1305 AEAD (RFC 7539 §2.8) in place, as WireGuard transport data messages use it
// (WireGuard whitepaper §5.4.6): the 96-bit nonce is 32 zero bits followed by the 64-bit
// little-endian counter, and the associated data is empty.
//
// Node exports its OpenSSL, so the EVP calls resolve against the running node binary. Each
// environment keeps one encrypting and one decrypting context that were initialised with the
// cipher once; a packet then only re-keys them (cipher NULL), which avoids OpenSSL 3's per-init
// algorithm fetch, the bulk of createCipheriv's fixed cost.
#include "common.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define KEY_LEN 32u
#define TAG_LEN 16u
// The largest JS number below which every integer is exact; counters must stay below it.
#define MAX_COUNTER 9007199254740991.0
// EVP lengths are ints.
#define MAX_LEN 0x7fffff00u

bool wn_aead_init(napi_env env, wn_instance *inst) {
  (void)env;
  for (int enc = 0; enc <= 1; enc++) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1) {
      EVP_CIPHER_CTX_free(c);
      return false;
    }
    if (enc) inst->seal_ctx = c;
    else inst->open_ctx = c;
  }
  return true;
}

void wn_aead_free(wn_instance *inst) {
  EVP_CIPHER_CTX_free(inst->seal_ctx);
  EVP_CIPHER_CTX_free(inst->open_ctx);
  inst->seal_ctx = inst->open_ctx = NULL;
}

static void make_nonce(uint8_t nonce[12], uint64_t counter) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

// seal encrypts p[0, len) in place and writes the tag at p + len.
static bool seal(EVP_CIPHER_CTX *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len) {
  uint8_t nonce[12];
  int out;
  make_nonce(nonce, counter);
  if (EVP_CipherInit_ex(c, NULL, NULL, key, nonce, -1) != 1) return false;
  if (len > 0 && EVP_CipherUpdate(c, p, &out, p, (int)len) != 1) return false;
  if (EVP_CipherFinal_ex(c, p + len, &out) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, p + len) == 1;
}

// open decrypts p[0, len - 16) in place if the tag at the end verifies; false otherwise.
static bool open_(EVP_CIPHER_CTX *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len) {
  if (len < TAG_LEN) return false;
  size_t clen = len - TAG_LEN;
  uint8_t nonce[12];
  int out;
  make_nonce(nonce, counter);
  if (EVP_CipherInit_ex(c, NULL, NULL, key, nonce, -1) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, p + clen) != 1) return false;
  if (clen > 0 && EVP_CipherUpdate(c, p, &out, p, (int)clen) != 1) return false;
  return EVP_CipherFinal_ex(c, p + clen, &out) == 1;
}

static bool arg_key(napi_env env, napi_value v, const char *what, uint8_t **key) {
  size_t len;
  if (!wn_arg_bytes(env, v, what, key, &len)) return false;
  if (len == KEY_LEN) return true;
  wn_throw_range(env, "%s must be %u bytes, got %zu", what, KEY_LEN, len);
  return false;
}

static EVP_CIPHER_CTX *ctx(napi_env env, bool enc) {
  wn_instance *inst = wn_instance_get(env);
  EVP_CIPHER_CTX *c = inst == NULL ? NULL : (enc ? inst->seal_ctx : inst->open_ctx);
  if (c == NULL) napi_throw_error(env, NULL, "aead: cipher context unavailable");
  return c;
}

// single reads (key, counter, buf, offset, length) shared by aeadSeal and aeadOpen; `extra` is
// how many bytes past offset + length the operation touches.
static bool single(napi_env env, napi_callback_info info, const char *fn, size_t extra,
                   uint8_t **key, uint64_t *counter, uint8_t **p, uint32_t *length) {
  napi_value argv[5];
  char what[48];
  double cnt;
  uint8_t *buf;
  size_t buf_len;
  uint32_t offset;
  if (!wn_args(env, info, 5, argv)) return false;
  snprintf(what, sizeof what, "%s: key", fn);
  if (!arg_key(env, argv[0], what, key)) return false;
  snprintf(what, sizeof what, "%s: counter", fn);
  if (!wn_arg_int(env, argv[1], what, 0, MAX_COUNTER, &cnt)) return false;
  snprintf(what, sizeof what, "%s: buf", fn);
  if (!wn_arg_bytes(env, argv[2], what, &buf, &buf_len)) return false;
  snprintf(what, sizeof what, "%s: offset", fn);
  if (!wn_arg_u32(env, argv[3], what, 0, UINT32_MAX, &offset)) return false;
  snprintf(what, sizeof what, "%s: length", fn);
  if (!wn_arg_u32(env, argv[4], what, 0, MAX_LEN, length)) return false;
  if (!wn_check_span(env, fn, 0, offset, (uint64_t)*length + extra, buf_len)) return false;
  *counter = (uint64_t)cnt;
  *p = buf + offset;
  return true;
}

napi_value wn_aead_seal(napi_env env, napi_callback_info info) {
  uint8_t *key, *p;
  uint64_t counter;
  uint32_t length;
  EVP_CIPHER_CTX *c;
  if (!single(env, info, "aeadSeal", TAG_LEN, &key, &counter, &p, &length) ||
      (c = ctx(env, true)) == NULL)
    return NULL;
  if (!seal(c, key, counter, p, length)) napi_throw_error(env, NULL, "aeadSeal: OpenSSL failed");
  return NULL;
}

napi_value wn_aead_open(napi_env env, napi_callback_info info) {
  uint8_t *key, *p;
  uint64_t counter;
  uint32_t length;
  EVP_CIPHER_CTX *c;
  if (!single(env, info, "aeadOpen", 0, &key, &counter, &p, &length) ||
      (c = ctx(env, false)) == NULL)
    return NULL;
  return wn_bool(env, open_(c, key, counter, p, length));
}

// read_spans reads buf, offsets, lengths and count, checking that packet i plus `extra` bytes
// lies inside buf for every i < count.
static bool read_spans(napi_env env, const char *fn, napi_value *argv, size_t extra, uint8_t **buf,
                       size_t *buf_len_out, uint32_t **offsets, uint32_t **lengths, uint32_t *count) {
  char what[48];
  size_t buf_len, n_off, n_len;
  snprintf(what, sizeof what, "%s: buf", fn);
  if (!wn_arg_bytes(env, argv[0], what, buf, &buf_len)) return false;
  *buf_len_out = buf_len;
  snprintf(what, sizeof what, "%s: offsets", fn);
  if (!wn_arg_array(env, argv[1], what, napi_uint32_array, (void **)offsets, &n_off)) return false;
  snprintf(what, sizeof what, "%s: lengths", fn);
  if (!wn_arg_array(env, argv[2], what, napi_uint32_array, (void **)lengths, &n_len)) return false;
  snprintf(what, sizeof what, "%s: count", fn);
  if (!wn_arg_u32(env, argv[3], what, 0, UINT32_MAX, count)) return false;
  if (*count > n_off || *count > n_len) {
    wn_throw_range(env, "%s: count %u exceeds the arrays (%zu, %zu)", fn, *count, n_off, n_len);
    return false;
  }
  for (uint32_t i = 0; i < *count; i++) {
    if ((*lengths)[i] > MAX_LEN) {
      wn_throw_range(env, "%s: packet %u is too long (%u bytes)", fn, i, (*lengths)[i]);
      return false;
    }
    if (!wn_check_span(env, fn, i, (*offsets)[i], (uint64_t)(*lengths)[i] + extra, buf_len))
      return false;
  }
  return true;
}

static bool in_bounds(uint32_t off, uint32_t len, size_t extra, size_t total) {
  return len <= MAX_LEN && (uint64_t)off + len + extra <= total;
}

static napi_value aliased(napi_env env, const char *fn) {
  return wn_throw_range(env, "%s: offsets, lengths or keyIndex changed during the call (do they "
                             "share memory with buf?)", fn);
}

napi_value wn_aead_seal_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint8_t *key, *buf;
  uint32_t *offsets, *lengths, count;
  size_t buf_len;
  double first;
  EVP_CIPHER_CTX *c;
  if (!wn_args(env, info, 6, argv) || !arg_key(env, argv[0], "aeadSealBatch: key", &key) ||
      !wn_arg_int(env, argv[1], "aeadSealBatch: firstCounter", 0, MAX_COUNTER, &first) ||
      !read_spans(env, "aeadSealBatch", argv + 2, TAG_LEN, &buf, &buf_len, &offsets, &lengths,
                  &count) ||
      (c = ctx(env, true)) == NULL)
    return NULL;
  if (count > 0 && first + (count - 1) > MAX_COUNTER)
    return wn_throw_range(env, "aeadSealBatch: counters %.0f + %u pass 2^53 - 1", first, count);
  uint64_t counter = (uint64_t)first;
  for (uint32_t i = 0; i < count; i++) {
    // Re-read and re-check each span: if the arrays alias buf, sealing may have changed them.
    uint32_t off = offsets[i], len = lengths[i];
    if (!in_bounds(off, len, TAG_LEN, buf_len)) return aliased(env, "aeadSealBatch");
    if (!seal(c, key, counter + i, buf + off, len)) {
      napi_throw_error(env, NULL, "aeadSealBatch: OpenSSL failed");
      return NULL;
    }
  }
  return NULL;
}

// aeadOpenBatch takes counters as read from the wire, so a counter that is not a valid integer
// below 2^53 (or a packet shorter than a tag) fails that packet instead of throwing.
napi_value wn_aead_open_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  uint8_t *keys, *buf, *ok;
  uint16_t *key_index;
  double *counters;
  uint32_t *offsets, *lengths, count;
  size_t keys_len, buf_len, n_idx, n_ctr, n_ok;
  EVP_CIPHER_CTX *c;
  if (!wn_args(env, info, 8, argv) ||
      !wn_arg_bytes(env, argv[0], "aeadOpenBatch: keys", &keys, &keys_len) ||
      !wn_arg_array(env, argv[1], "aeadOpenBatch: keyIndex", napi_uint16_array,
                    (void **)&key_index, &n_idx) ||
      !wn_arg_array(env, argv[2], "aeadOpenBatch: counters", napi_float64_array,
                    (void **)&counters, &n_ctr) ||
      !read_spans(env, "aeadOpenBatch", argv + 3, 0, &buf, &buf_len, &offsets, &lengths, &count) ||
      !wn_arg_array(env, argv[7], "aeadOpenBatch: ok", napi_uint8_array, (void **)&ok, &n_ok) ||
      (c = ctx(env, false)) == NULL)
    return NULL;
  if (keys_len == 0 || keys_len % KEY_LEN != 0)
    return wn_throw_range(env, "aeadOpenBatch: keys must be a non-empty multiple of %u bytes, got %zu",
                          KEY_LEN, keys_len);
  if (count > n_idx || count > n_ctr || count > n_ok)
    return wn_throw_range(env, "aeadOpenBatch: count %u exceeds keyIndex, counters or ok", count);
  size_t nkeys = keys_len / KEY_LEN;
  for (uint32_t i = 0; i < count; i++) {
    if (key_index[i] >= nkeys)
      return wn_throw_range(env, "aeadOpenBatch: keyIndex[%u] = %u but there are %zu keys", i,
                            key_index[i], nkeys);
  }
  uint32_t good = 0;
  for (uint32_t i = 0; i < count; i++) {
    // As in aeadSealBatch, read everything once and re-check in case the arrays alias buf.
    uint32_t off = offsets[i], len = lengths[i], k = key_index[i];
    double ctr = counters[i];
    if (!in_bounds(off, len, 0, buf_len) || k >= nkeys) return aliased(env, "aeadOpenBatch");
    bool valid = ctr >= 0 && ctr <= MAX_COUNTER && ctr == (double)(uint64_t)ctr;
    bool opened = valid && open_(c, keys + (size_t)k * KEY_LEN, (uint64_t)ctr, buf + off, len);
    ok[i] = opened;
    good += opened;
  }
  return wn_number(env, good);
}
