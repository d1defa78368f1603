// TUN segmentation offloads (IFF_VNET_HDR, TUNSETOFFLOAD): every read from and write to a TUN
// opened with IFF_VNET_HDR starts with a struct virtio_net_hdr (virtio spec v1.2 §5.1.6;
// include/uapi/linux/virtio_net.h). With TUN_F_TSO4/6 and TUN_F_USO4/6 the kernel hands over
// TCP and UDP "super-packets" of up to 64 KiB that the reader splits into MTU-sized packets
// here (the segmentation a NIC would do); on the way out, TCP segments of one flow are
// coalesced into one super-packet, as Linux GRO does (net/ipv4/tcp_offload.c), so the kernel's
// stack handles one packet instead of dozens.
//
// Everything here is pure (no syscalls) so that tests can feed it crafted and random input. The
// header and the packet come from the kernel, and the packets to coalesce from peers, but all
// are checked as if hostile: every offset is bounded by the buffer it points into.
#ifndef WARREN_VNET_H
#define WARREN_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

// Big-endian (network order) field access for the headers both files rewrite.
static inline uint16_t wn_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void wn_put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline uint32_t wn_get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wn_put32(uint8_t *p, uint32_t v) {
  wn_put16(p, v >> 16);
  wn_put16(p + 2, v);
}

#define WN_VNET_HDR_LEN 10u
#define WN_VNET_F_NEEDS_CSUM 1u
#define WN_GSO_NONE 0u
#define WN_GSO_TCPV4 1u
#define WN_GSO_UDP 3u
#define WN_GSO_TCPV6 4u
#define WN_GSO_UDP_L4 5u
#define WN_GSO_ECN 0x80u

typedef struct wn_vnet_hdr {
  uint8_t flags, gso_type;
  uint16_t hdr_len, gso_size, csum_start, csum_offset; // host order here, little-endian on the wire
} wn_vnet_hdr;

void wn_vnet_parse(const uint8_t *p, wn_vnet_hdr *h);
void wn_vnet_write(uint8_t *p, const wn_vnet_hdr *h);

// wn_split is a super-packet being split: wn_split_init validates pkt against the header and
// says how many packets it yields (0: drop it, malformed or a segment would exceed cap);
// wn_split_seg writes packet k < nsegs into out (cap bytes) and returns its length.
typedef struct wn_split {
  const uint8_t *pkt;
  uint32_t len;
  uint32_t l3, hdr;   // L4 header offset; all headers' length
  uint32_t gso;       // payload bytes per segment (0: the packet goes whole)
  uint32_t nsegs;
  uint8_t proto;      // 6 or 17 for GSO, 0 for a whole packet
  bool v6;
  int32_t csum_at;    // a whole packet's checksum to complete (NEEDS_CSUM), or -1
  uint16_t csum_from; // ... summed from this offset
} wn_split;

uint32_t wn_split_init(wn_split *s, const wn_vnet_hdr *h, const uint8_t *pkt, uint32_t len, uint32_t cap);
uint32_t wn_split_seg(const wn_split *s, uint32_t k, uint8_t *out);

// Coalescing. wn_coalesce plans the writes of a batch of packets (bytes at buf + offsets[i],
// lengths[i], each inside buf, count <= WN_COALESCE_MAX): items[] in output order, each a head
// packet followed by the packets merged into it through next[]. It rewrites merged heads' IP
// and TCP headers in place and fills each item's virtio_net_hdr.
#define WN_COALESCE_MAX 1024u
#define WN_COALESCE_SEGS 64u // at most this many segments per super-packet (Linux's MAX_GSO_SEGS is 64)

typedef struct wn_item {
  uint32_t head, last, n;
  uint8_t vnet[WN_VNET_HDR_LEN];
} wn_item;

typedef struct wn_coalesce_scratch {
  wn_item items[WN_COALESCE_MAX];
  uint32_t next[WN_COALESCE_MAX];
  // Per item, for matching: 0 = closed to merging.
  uint8_t open[WN_COALESCE_MAX];
  uint32_t next_seq[WN_COALESCE_MAX], payload[WN_COALESCE_MAX], gso[WN_COALESCE_MAX];
  uint8_t id_mode[WN_COALESCE_MAX]; // 0 unknown, 1 incrementing, 2 fixed (DF)
  uint32_t hash[WN_COALESCE_MAX];   // the head's flow hash, 0 for an item that is no TCP flow
} wn_coalesce_scratch;

uint32_t wn_coalesce(uint8_t *buf, const uint32_t *offsets, const uint32_t *lengths, uint32_t count,
                     wn_coalesce_scratch *s);
// wn_item_iov fills iov (WN_COALESCE_SEGS + 1 entries) for item k: its header, the head packet,
// then the payload of each merged packet, and returns how many entries it used.
uint32_t wn_item_iov(uint8_t *buf, const uint32_t *offsets, const uint32_t *lengths,
                     wn_coalesce_scratch *s, uint32_t k, struct iovec *iov);

// Internet checksum (RFC 1071) helpers, in native byte order until folded and stored.
uint64_t wn_csum_add(uint64_t acc, const uint8_t *p, size_t n);
uint16_t wn_csum_fold(uint64_t acc);
// wn_pseudo_sum sums the pseudo-header of an L4 segment of l4len bytes behind the IP header at p.
uint64_t wn_pseudo_sum(const uint8_t *p, bool v6, uint8_t proto, uint32_t l4len);

#endif
