// ChaCha20-Poly1305 primitives shared by the single calls (aead.c), the batch calls
// (aead_batch.c) and the crypto worker threads (pool.c). Only aead.c includes OpenSSL.
#ifndef WARREN_AEAD_H
#define WARREN_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WN_KEY_LEN 32u
#define WN_TAG_LEN 16u
// The largest JS number below which every integer is exact; counters must stay below it.
#define WN_MAX_COUNTER 9007199254740991.0
// EVP lengths are ints.
#define WN_MAX_LEN 0x7fffff00u

// wn_cipher is one thread's pair of cipher contexts with the key each was last given, so that
// consecutive packets under one key only set the nonce (the common case: one flow, one keypair).
typedef struct wn_cipher {
  void *seal; // EVP_CIPHER_CTX *
  void *open;
  uint8_t seal_key[WN_KEY_LEN];
  uint8_t open_key[WN_KEY_LEN];
  bool seal_keyed;
  bool open_keyed;
} wn_cipher;

// wn_cipher_new returns a cipher with both contexts initialised, or NULL.
wn_cipher *wn_cipher_new(void);
void wn_cipher_free(wn_cipher *c);

// wn_seal encrypts p[0, len) in place and writes the tag at p + len.
bool wn_seal(wn_cipher *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len);
// wn_open decrypts p[0, len - 16) in place if the tag at the end verifies; false otherwise.
bool wn_open(wn_cipher *c, const uint8_t *key, uint64_t counter, uint8_t *p, size_t len);

#endif
