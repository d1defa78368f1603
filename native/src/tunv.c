// Reading a TUN device opened with IFF_VNET_HDR (vnet.h): every read returns a virtio_net_hdr
// and a packet that may be a TCP or UDP super-packet of up to 64 KiB, which is split here into
// one packet per slot, so batches look exactly as they do without offloads. A super-packet
// that does not fit the rest of a batch stays pending and fills the next batch first.
#include "reader.h"
#include "vnet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// TUNV_BUF holds the header and the largest packet the device can hand over (an IP packet's
// 16-bit length), plus one byte that tells a truncated read from a full one.
#define TUNV_BUF (WN_VNET_HDR_LEN + 65535u + 1u)

typedef struct wn_tunv {
  uint8_t mem[TUNV_BUF];
  wn_split split;
  uint32_t k; // the next segment of split to hand out
  bool pending;
} wn_tunv;

bool wn_tunv_enable(wn_reader *r) {
  r->tunv = calloc(1, sizeof *r->tunv);
  return r->tunv != NULL;
}

void wn_tunv_free(wn_reader *r) {
  free(r->tunv);
  r->tunv = NULL;
}

bool wn_reader_pending(const wn_reader *r) {
  return wn_gro_pending(r) || (r->tunv != NULL && r->tunv->pending);
}

static uint32_t drain(wn_reader *r, wn_entry *e, uint32_t i) {
  wn_tunv *v = r->tunv;
  while (v->pending && i < r->max_batch) {
    uint8_t *out = e->mem + (size_t)i * r->slot_size + r->headroom;
    e->lengths[i] = wn_split_seg(&v->split, v->k, out);
    memset(e->addr_words + 4 * (size_t)i, 0, 4 * sizeof *e->addr_words);
    memset(e->local_words + 4 * (size_t)i, 0, 4 * sizeof *e->local_words);
    e->ports[i] = 0;
    e->ifindex[i] = 0;
    i++;
    if (++v->k >= v->split.nsegs) v->pending = false;
  }
  return i;
}

// wn_tunv_fill hands out what is pending first; a fill that had something pending reads no
// more, so that draining (which the poller does past its round limit) always ends. A packet
// the splitter refuses (malformed header, a segment longer than a slot) is counted as
// truncated and skipped. r->read_limit, when set, bounds the reads (fill.c).
uint32_t wn_tunv_fill(wn_reader *r, wn_entry *e, int *err, bool *full) {
  wn_tunv *v = r->tunv;
  bool had_pending = v->pending;
  uint32_t i = drain(r, e, 0), reads = 0;
  while (!had_pending && i < r->max_batch) {
    if (r->read_limit != 0 && reads++ == r->read_limit) {
      *full = true; // stopped by the limit, not drained: the caller reads on
      return i;
    }
    ssize_t n = read(r->io_fd, v->mem, TUNV_BUF);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      break;
    }
    if (n == 0) break;
    wn_vnet_hdr h;
    if ((size_t)n <= WN_VNET_HDR_LEN || (size_t)n >= TUNV_BUF) {
      WN_COUNT(r, truncated, 1);
      continue;
    }
    wn_vnet_parse(v->mem, &h);
    uint32_t segs = wn_split_init(&v->split, &h, v->mem + WN_VNET_HDR_LEN, (uint32_t)n - WN_VNET_HDR_LEN, r->cap);
    if (segs == 0) {
      WN_COUNT(r, truncated, 1);
      continue;
    }
    if (segs > 1) WN_COUNT(r, split, 1);
    v->k = 0;
    v->pending = true;
    i = drain(r, e, i);
  }
  *full = v->pending || i == r->max_batch;
  return i;
}
