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
#include <stdlib.h>
#include <string.h>

#include "aead.h"

#define KEY_LEN WN_KEY_LEN
#define TAG_LEN WN_TAG_LEN
#define MAX_COUNTER WN_MAX_COUNTER
#define MAX_LEN WN_MAX_LEN

wn_cipher *wn_cipher_new(void) {
  wn_cipher *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->seal = EVP_CIPHER_CTX_new();
  c->open = EVP_CIPHER_CTX_new();
  if (c->seal == NULL || c->open == NULL ||
      EVP_CipherInit_ex(c->seal, EVP_chacha20_poly1305(), NULL, NULL, NULL, 1) != 1 ||
      EVP_CipherInit_ex(c->open, EVP_chacha20_poly1305(), NULL, NULL, NULL, 0) != 1) {
    wn_cipher_free(c);
    return NULL;
  }
  return c;
}

void wn_cipher_free(wn_cipher *c) {
  if (c == NULL) return;
  EVP_CIPHER_CTX_free(c->seal);
  EVP_CIPHER_CTX_free(c->open);
  free(c);
}

bool wn_aead_init(napi_env env, wn_instance *inst) {
  (void)env;
  inst->cipher = wn_cipher_new();
  return inst->cipher != NULL;
}

void wn_aead_free(wn_instance *inst) {
  wn_cipher_free(inst->cipher);
  inst->cipher = NULL;
}

static void make_nonce(uint8_t nonce[12], uint64_t counter) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

// rekey gives ctx the nonce, and the key only if it differs from the one it holds: re-keying
// runs the ChaCha20 key setup and OpenSSL's parameter lookups again, a nonce alone resets the
// state for the next message (RFC 7539 §2.8: the Poly1305 key comes from the nonce's block 0).
static bool rekey(EVP_CIPHER_CTX *ctx, uint8_t held[KEY_LEN], bool *keyed, const uint8_t *key,
                  const uint8_t nonce[12]) {
  bool same = *keyed && memcmp(held, key, KEY_LEN) == 0;
  *keyed = false; // until the init below succeeded
  if (EVP_CipherInit_ex(ctx, NULL, NULL, same ? NULL : key, nonce, -1) != 1) return false;
  if (!same) memcpy(held, key, KEY_LEN);
  *keyed = true;
  return true;
}

bool wn_seal(wn_cipher *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len) {
  uint8_t nonce[12];
  int out;
  make_nonce(nonce, counter);
  if (!rekey(c->seal, c->seal_key, &c->seal_keyed, key, nonce)) return false;
  if (len > 0 && EVP_CipherUpdate(c->seal, p, &out, p, (int)len) != 1) return false;
  if (EVP_CipherFinal_ex(c->seal, p + len, &out) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(c->seal, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, p + len) == 1;
}

bool wn_open(wn_cipher *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len) {
  if (len < TAG_LEN) return false;
  size_t clen = len - TAG_LEN;
  uint8_t nonce[12];
  int out;
  make_nonce(nonce, counter);
  if (!rekey(c->open, c->open_key, &c->open_keyed, key, nonce)) return false;
  if (EVP_CIPHER_CTX_ctrl(c->open, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, p + clen) != 1) return false;
  if (clen > 0 && EVP_CipherUpdate(c->open, p, &out, p, (int)clen) != 1) return false;
  return EVP_CipherFinal_ex(c->open, p + clen, &out) == 1;
}

bool wn_arg_key(napi_env env, napi_value v, const char *what, uint8_t **key) {
  size_t len;
  if (!wn_arg_bytes(env, v, what, key, &len)) return false;
  if (len == KEY_LEN) return true;
  wn_throw_range(env, "%s must be %u bytes, got %zu", what, KEY_LEN, len);
  return false;
}

wn_cipher *wn_cipher_get(napi_env env) {
  wn_instance *inst = wn_instance_get(env);
  wn_cipher *c = inst == NULL ? NULL : inst->cipher;
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
  if (!wn_arg_key(env, argv[0], what, key)) return false;
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
  wn_cipher *c;
  if (!single(env, info, "aeadSeal", TAG_LEN, &key, &counter, &p, &length) ||
      (c = wn_cipher_get(env)) == NULL)
    return NULL;
  if (!wn_seal(c, key, counter, p, length)) napi_throw_error(env, NULL, "aeadSeal: OpenSSL failed");
  return NULL;
}

napi_value wn_aead_open(napi_env env, napi_callback_info info) {
  uint8_t *key, *p;
  uint64_t counter;
  uint32_t length;
  wn_cipher *c;
  if (!single(env, info, "aeadOpen", 0, &key, &counter, &p, &length) ||
      (c = wn_cipher_get(env)) == NULL)
    return NULL;
  return wn_bool(env, wn_open(c, key, counter, p, length));
}

