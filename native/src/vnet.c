// Splitting TUN super-packets (see vnet.h): the segmentation a NIC does for TSO/USO, done by the
// reader before a batch reaches JS, so the data path sees ordinary packets of at most the MTU.
// Each segment gets the headers of the super-packet with what differs per segment rewritten
// as the kernel's software GSO does (net/ipv4/tcp_offload.c tcp_gso_segment,
// net/ipv4/udp_offload.c __udp_gso_segment, net/ipv4/af_inet.c inet_gso_segment): IPv4 total
// length, id (incrementing) and header checksum; IPv6 payload length; TCP sequence number,
// FIN and PSH only on the last segment and CWR only on the first; UDP length; and the full
// L4 checksum over the RFC 793/768/8200 pseudo-header.
#include "vnet.h"

#include <string.h>

#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_CWR 0x80u

// virtio_net_hdr fields are little-endian for a TUN device in its default (non-legacy) mode,
// as for virtio 1.0 devices (TUNSETVNETLE aside), on every host.
void wn_vnet_parse(const uint8_t *p, wn_vnet_hdr *h) {
  h->flags = p[0];
  h->gso_type = p[1];
  h->hdr_len = (uint16_t)(p[2] | p[3] << 8);
  h->gso_size = (uint16_t)(p[4] | p[5] << 8);
  h->csum_start = (uint16_t)(p[6] | p[7] << 8);
  h->csum_offset = (uint16_t)(p[8] | p[9] << 8);
}

void wn_vnet_write(uint8_t *p, const wn_vnet_hdr *h) {
  p[0] = h->flags;
  p[1] = h->gso_type;
  p[2] = (uint8_t)h->hdr_len;
  p[3] = (uint8_t)(h->hdr_len >> 8);
  p[4] = (uint8_t)h->gso_size;
  p[5] = (uint8_t)(h->gso_size >> 8);
  p[6] = (uint8_t)h->csum_start;
  p[7] = (uint8_t)(h->csum_start >> 8);
  p[8] = (uint8_t)h->csum_offset;
  p[9] = (uint8_t)(h->csum_offset >> 8);
}

// wn_csum_add sums n bytes as 16-bit words in native byte order (RFC 1071 §2(B): the sum is
// byte-order independent), so a caller must start every chunk but the last at an even offset
// of the data being summed. 64 KiB of 32-bit words cannot overflow the 64-bit accumulator.
uint64_t wn_csum_add(uint64_t acc, const uint8_t *p, size_t n) {
  while (n >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    uint16_t w = 0;
    memcpy(&w, p, 1); // the odd byte is the high-order byte of a zero-padded word
    acc += w;
  }
  return acc;
}

uint16_t wn_csum_fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

// store_csum writes the complement of the folded sum. 0 becomes 0xffff, which checks the same
// (one's complement has two zeros) and which UDP requires (RFC 768: 0 means "no checksum").
static void store_csum(uint8_t *at, uint64_t acc) {
  uint16_t c = (uint16_t)~wn_csum_fold(acc);
  if (c == 0) c = 0xffff;
  memcpy(at, &c, 2);
}

// pseudo_sum sums the pseudo-header of an L4 segment of l4len bytes (RFC 793 §3.1, RFC 768,
// RFC 8200 §8.1) from the addresses of the IP header at p.
uint64_t wn_pseudo_sum(const uint8_t *p, bool v6, uint8_t proto, uint32_t l4len) {
  uint8_t tail[8] = {0};
  uint64_t acc;
  if (v6) {
    acc = wn_csum_add(0, p + 8, 32);
    wn_put32(tail, l4len);
    tail[7] = proto;
    return wn_csum_add(acc, tail, 8);
  }
  acc = wn_csum_add(0, p + 12, 8);
  tail[1] = proto;
  wn_put16(tail + 2, l4len);
  return wn_csum_add(acc, tail, 4);
}

// split_ip checks the IP header of a GSO packet and sets s->l3 and s->v6.
static bool split_ip(wn_split *s, const wn_vnet_hdr *h, uint8_t type) {
  const uint8_t *p = s->pkt;
  uint8_t ver = s->len > 0 ? p[0] >> 4 : 0;
  if (ver == 4 && type != WN_GSO_TCPV6 && s->len >= 20) {
    s->l3 = (p[0] & 15u) * 4u;
    // A fragment cannot be segmented (MF or a fragment offset).
    return s->l3 >= 20 && s->l3 <= s->len && p[9] == s->proto && (wn_get16(p + 6) & 0x3fff) == 0;
  }
  if (ver == 6 && type != WN_GSO_TCPV4 && s->len >= 40) {
    // Extension headers lie between the fixed header and csum_start, which the kernel sets to
    // the L4 header; without any, the next header must be the protocol itself.
    s->v6 = true;
    s->l3 = h->csum_start;
    return s->l3 >= 40 && s->l3 <= s->len && (s->l3 != 40 || p[6] == s->proto);
  }
  return false;
}

// split_gso validates a GSO super-packet. hdr_len is not trusted (some kernels report the
// linear part, not the headers): the headers' length comes from the packet itself.
static uint32_t split_gso(wn_split *s, const wn_vnet_hdr *h, uint8_t type, uint32_t cap) {
  s->proto = type == WN_GSO_UDP_L4 ? 17 : 6;
  if (!split_ip(s, h, type)) return 0;
  uint32_t l4 = s->proto == 6 ? 20 : 8;
  if (s->l3 + l4 > s->len) return 0;
  if (s->proto == 6) {
    l4 = (s->pkt[s->l3 + 12] >> 4) * 4u;
    if (l4 < 20 || s->l3 + l4 > s->len) return 0;
  }
  s->hdr = s->l3 + l4;
  s->gso = h->gso_size;
  uint32_t payload = s->len - s->hdr;
  if (s->gso == 0) return 0;
  s->nsegs = payload == 0 ? 1 : (payload + s->gso - 1) / s->gso;
  uint32_t first = s->hdr + (payload < s->gso ? payload : s->gso);
  if (first > cap) return 0;
  return s->nsegs;
}

uint32_t wn_split_init(wn_split *s, const wn_vnet_hdr *h, const uint8_t *pkt, uint32_t len, uint32_t cap) {
  memset(s, 0, sizeof *s);
  s->pkt = pkt;
  s->len = len;
  s->csum_at = -1;
  uint8_t type = h->gso_type & (uint8_t)~WN_GSO_ECN;
  if (type == WN_GSO_NONE) {
    if (len == 0 || len > cap) return 0;
    if (h->flags & WN_VNET_F_NEEDS_CSUM) {
      // The kernel left the pseudo-header sum at csum_start + csum_offset and expects the sum
      // from csum_start to the end to be folded in (skb_checksum_help).
      if ((uint32_t)h->csum_start + h->csum_offset + 2 > len) return 0;
      s->csum_at = (int32_t)(h->csum_start + h->csum_offset);
      s->csum_from = h->csum_start;
    }
    s->nsegs = 1;
    return 1;
  }
  if (type != WN_GSO_TCPV4 && type != WN_GSO_TCPV6 && type != WN_GSO_UDP_L4) return 0;
  return split_gso(s, h, type, cap);
}

// fix_ip rewrites the IP header of a segment of seglen bytes, number k.
static void fix_ip(const wn_split *s, uint8_t *out, uint32_t seglen, uint32_t k) {
  if (s->v6) {
    wn_put16(out + 4, seglen - 40);
    return;
  }
  wn_put16(out + 2, seglen);
  wn_put16(out + 4, wn_get16(out + 4) + k);
  wn_put16(out + 10, 0);
  store_csum(out + 10, wn_csum_add(0, out, s->l3));
}

uint32_t wn_split_seg(const wn_split *s, uint32_t k, uint8_t *out) {
  if (s->proto == 0) {
    memcpy(out, s->pkt, s->len);
    if (s->csum_at >= 0) store_csum(out + s->csum_at, wn_csum_add(0, out + s->csum_from, s->len - s->csum_from));
    return s->len;
  }
  uint32_t payload = s->len - s->hdr, at = k * s->gso;
  uint32_t n = payload - at < s->gso ? payload - at : s->gso;
  uint32_t seglen = s->hdr + n;
  memcpy(out, s->pkt, s->hdr);
  memcpy(out + s->hdr, s->pkt + s->hdr + at, n);
  fix_ip(s, out, seglen, k);
  uint8_t *l4 = out + s->l3;
  uint32_t l4len = seglen - s->l3;
  if (s->proto == 6) {
    wn_put32(l4 + 4, wn_get32(l4 + 4) + at);
    if (k + 1 < s->nsegs) l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (k > 0) l4[13] &= (uint8_t)~TCP_CWR;
    wn_put16(l4 + 16, 0);
  } else {
    wn_put16(l4 + 4, l4len);
    wn_put16(l4 + 6, 0);
  }
  uint64_t acc = wn_pseudo_sum(out, s->v6, s->proto, l4len);
  store_csum(l4 + (s->proto == 6 ? 16 : 6), wn_csum_add(acc, l4, l4len));
  return seglen;
}
