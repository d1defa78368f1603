// Writing to a TUN device opened with IFF_VNET_HDR (vnet.h): every write starts with a
// virtio_net_hdr. Mode 1 writes each packet behind an all-zero header (GSO_NONE, no checksum
// claim); mode 2 first coalesces the batch's TCP segments (coalesce.c) and writes each
// super-packet with writev, header, head packet and the merged payloads in place, no copy.
// Also the test entry points vnetSplit and vnetCoalesce, which run the pure functions on
// crafted input.
#include "common.h"
#include "send.h"
#include "vnet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static bool tun_drop_errno(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM || err == EINVAL || err == EMSGSIZE;
}

static ssize_t writev_retry(int fd, const struct iovec *iov, int n) {
  ssize_t r;
  do {
    r = writev(fd, iov, n);
  } while (r < 0 && errno == EINTR);
  return r;
}

// scratch is the coalescing state of this environment (about 60 KiB), made on first use.
static wn_coalesce_scratch *scratch(napi_env env) {
  wn_instance *inst = wn_instance_get(env);
  if (inst == NULL) return NULL;
  if (inst->coalesce == NULL) inst->coalesce = malloc(sizeof(wn_coalesce_scratch));
  return inst->coalesce;
}

// wn_tun_write_vnet writes b's packets as mode says and returns how many packets went out, or
// -errno when the device failed before any did.
int64_t wn_tun_write_vnet(napi_env env, int fd, batch_args *b, uint32_t mode) {
  static const uint8_t zero[WN_VNET_HDR_LEN];
  struct iovec iov[WN_COALESCE_SEGS + 1];
  uint32_t written = 0;
  wn_coalesce_scratch *s = mode == 2 ? scratch(env) : NULL;
  uint32_t items = s != NULL ? wn_coalesce(b->buf, b->offsets, b->lengths, b->count, s) : b->count;
  for (uint32_t k = 0; k < items; k++) {
    uint32_t n = 2, pkts = 1;
    if (s != NULL) {
      n = wn_item_iov(b->buf, b->offsets, b->lengths, s, k, iov);
      pkts = s->items[k].n;
    } else {
      iov[0] = (struct iovec){.iov_base = (void *)zero, .iov_len = WN_VNET_HDR_LEN};
      iov[1] = (struct iovec){.iov_base = b->buf + b->offsets[k], .iov_len = b->lengths[k]};
    }
    if (writev_retry(fd, iov, (int)n) >= 0) {
      written += pkts;
    } else if (!tun_drop_errno(errno)) {
      if (written == 0) return -errno;
      break;
    }
  }
  return written;
}

static napi_value buffer_of(napi_env env, const struct iovec *iov, uint32_t n) {
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) total += iov[i].iov_len;
  void *data;
  napi_value buf;
  if (napi_create_buffer(env, total, &data, &buf) != napi_ok) return NULL;
  for (uint32_t i = 0, at = 0; i < n; at += (uint32_t)iov[i].iov_len, i++)
    memcpy((uint8_t *)data + at, iov[i].iov_base, iov[i].iov_len);
  return buf;
}

// vnetSplit(frame, cap): the packets the reader would make of one read (header + packet) with
// slots of cap bytes; an empty array when it drops the read.
napi_value wn_vnet_split_js(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  uint8_t *frame;
  size_t len;
  uint32_t cap;
  if (!wn_args(env, info, 2, argv) || !wn_arg_bytes(env, argv[0], "vnetSplit: frame", &frame, &len) ||
      !wn_arg_u32(env, argv[1], "vnetSplit: cap", 1, 65535, &cap) || napi_create_array(env, &out) != napi_ok)
    return NULL;
  if (len <= WN_VNET_HDR_LEN || len > WN_VNET_HDR_LEN + 65535u) return out;
  wn_vnet_hdr h;
  wn_split sp;
  wn_vnet_parse(frame, &h);
  uint32_t segs = wn_split_init(&sp, &h, frame + WN_VNET_HDR_LEN, (uint32_t)(len - WN_VNET_HDR_LEN), cap);
  // Each segment goes into a buffer of exactly cap bytes, as into a slot, so a write past it
  // is caught by the address sanitizer or the check below.
  uint8_t *slot = malloc(cap);
  if (slot == NULL) return wn_throw_errno(env, ENOMEM, "vnetSplit");
  for (uint32_t k = 0; k < segs; k++) {
    uint32_t n = wn_split_seg(&sp, k, slot);
    struct iovec v = {.iov_base = slot, .iov_len = n};
    napi_value b = n <= cap ? buffer_of(env, &v, 1) : NULL;
    if (b == NULL || napi_set_element(env, out, k, b) != napi_ok) {
      free(slot);
      return n <= cap ? NULL : wn_throw_range(env, "vnetSplit: segment %u is %u bytes, past the %u-byte slot", k, n, cap);
    }
  }
  free(slot);
  return out;
}

// vnetCoalesce(buf, offsets, lengths, count): the writes mode 2 would make of the batch, each
// a Buffer of header and bytes; buf's headers are rewritten in place as for the real write.
napi_value wn_vnet_coalesce_js(napi_env env, napi_callback_info info) {
  napi_value argv[4], out;
  batch_args b;
  size_t n;
  struct iovec iov[WN_COALESCE_SEGS + 1];
  if (!wn_args(env, info, 4, argv) || !wn_read_batch(env, "vnetCoalesce", argv, 3, &n, &b)) return NULL;
  if (b.count > n || b.count > WN_COALESCE_MAX)
    return wn_throw_range(env, "vnetCoalesce: count %u exceeds the arrays (%zu) or %u", b.count, n, WN_COALESCE_MAX);
  wn_coalesce_scratch *s = scratch(env);
  if (s == NULL || napi_create_array(env, &out) != napi_ok) return NULL;
  uint32_t items = wn_coalesce(b.buf, b.offsets, b.lengths, b.count, s);
  for (uint32_t k = 0; k < items; k++) {
    napi_value v = buffer_of(env, iov, wn_item_iov(b.buf, b.offsets, b.lengths, s, k, iov));
    if (v == NULL || napi_set_element(env, out, k, v) != napi_ok) return NULL;
  }
  return out;
}
