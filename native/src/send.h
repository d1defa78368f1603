// Shared by the senders: send.c (TUN writes, single datagrams) and sendmmsg.c (datagram
// batches, with UDP GSO where the kernel takes it).
#ifndef WARREN_SEND_H
#define WARREN_SEND_H

#include "common.h"

typedef struct batch_args {
  uint8_t *buf;
  size_t buf_len;
  uint32_t *offsets;
  uint32_t *lengths;
  uint32_t count;
} batch_args;

// wn_read_batch reads (buf, offsets, lengths) at argv[0..2] and count at argv[count_at], checks
// that every packet lies inside buf, and sets *min_len to the shorter array's length.
bool wn_read_batch(napi_env env, const char *fn, napi_value *argv, size_t count_at,
                   size_t *min_len, batch_args *b);

// wn_udp_drop_errno: send errors that concern one destination, not the socket.
bool wn_udp_drop_errno(int err);

// wn_send_family sets the socket's family (AF_INET or AF_INET6) or throws.
bool wn_send_family(napi_env env, int fd, const char *op, int *family);

// wn_opt_words reads an optional Uint32Array (undefined or null gives NULL).
bool wn_opt_words(napi_env env, napi_value v, const char *what, uint32_t **words, size_t *n);

// wn_tun_write_vnet writes a batch to an IFF_VNET_HDR device (tunv_write.c): mode 1 behind
// zero headers, mode 2 coalesced; returns packets written or -errno.
int64_t wn_tun_write_vnet(napi_env env, int fd, batch_args *b, uint32_t mode);

#endif
