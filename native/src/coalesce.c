// Coalescing decrypted TCP segments into TUN super-packets (see vnet.h), the receive-side
// counterpart of the splitter: what Linux GRO does for a NIC (net/ipv4/tcp_offload.c
// tcp_gro_receive, net/ipv4/af_inet.c inet_gro_receive). Segments of one flow merge when the
// kernel could not tell the super-packet from the segments: consecutive sequence numbers, the
// same IP and TCP header fields but the length, id and checksum (IPv4 ids incrementing, or all
// equal with DF, RFC 6864), the same ACK and options, flags ACK with PSH allowed on the last
// only, every segment as long as the first but the last, at most 64 segments and 64 KiB.
//
// Only segments whose checksums verify are merged: the super-packet goes to the kernel with
// NEEDS_CSUM (CHECKSUM_PARTIAL), which the stack trusts, so a segment corrupted on the way
// would otherwise be accepted. Everything else is written as it came with an all-zero header
// (GSO_NONE, no checksum claim), so the kernel verifies it and drops a bad one (InCsumErrors).
#include "vnet.h"

#include <string.h>

#define TCP_ACK 0x10u
#define TCP_PSH 0x08u

// tcp_pkt is what coalescing needs of one packet. flow is false for anything but a TCP packet
// with its headers in bounds; merge is true only for a segment that may be merged.
typedef struct tcp_pkt {
  bool flow, merge, v6;
  uint32_t l3, doff, payload, seq, hash;
  uint8_t flags;
} tcp_pkt;

static uint32_t flow_hash(const uint8_t *p, uint32_t l3, bool v6) {
  uint32_t h = 2166136261u; // FNV-1a over the addresses and ports
  const uint8_t *a = p + (v6 ? 8 : 12);
  for (uint32_t i = 0; i < (v6 ? 32u : 8u); i++) h = (h ^ a[i]) * 16777619u;
  for (uint32_t i = 0; i < 4; i++) h = (h ^ p[l3 + i]) * 16777619u;
  return h | 1; // never 0, which marks items that are no flow
}

// ip_ok checks the IP header of a candidate: no IPv4 options or fragments, no IPv6 extension
// headers (inet_gro_receive and ipv6_gro_receive take only these), length exactly the packet.
static bool ip_ok(const uint8_t *p, uint32_t len, tcp_pkt *t) {
  if (len < 20) return false;
  if (p[0] == 0x45) {
    t->l3 = 20;
    return wn_get16(p + 2) == len && (wn_get16(p + 6) & 0x3fff) == 0 && p[9] == 6;
  }
  if (p[0] >> 4 != 6 || len < 40) return false;
  t->v6 = true;
  t->l3 = 40;
  return wn_get16(p + 4) + 40u == len && p[6] == 6;
}

static void parse(const uint8_t *p, uint32_t len, tcp_pkt *t) {
  memset(t, 0, sizeof *t);
  if (!ip_ok(p, len, t) || t->l3 + 20 > len) return;
  t->doff = (p[t->l3 + 12] >> 4) * 4u;
  if (t->doff < 20 || t->l3 + t->doff > len) return;
  t->flow = true;
  t->hash = flow_hash(p, t->l3, t->v6);
  t->payload = len - t->l3 - t->doff;
  t->seq = wn_get32(p + t->l3 + 4);
  t->flags = p[t->l3 + 13];
  if (t->payload == 0 || (t->flags != TCP_ACK && t->flags != (TCP_ACK | TCP_PSH))) return;
  // The IPv4 header checksum and the TCP checksum must both verify (RFC 1071: the sum over
  // the data including the checksum folds to all ones).
  if (!t->v6 && wn_csum_fold(wn_csum_add(0, p, 20)) != 0xffff) return;
  uint32_t l4len = len - t->l3;
  uint64_t acc = wn_pseudo_sum(p, t->v6, 6, l4len);
  t->merge = wn_csum_fold(wn_csum_add(acc, p + t->l3, l4len)) == 0xffff;
}

static bool same_flow(const uint8_t *a, const uint8_t *b, const tcp_pkt *t) {
  return (a[0] >> 4) == (b[0] >> 4) && memcmp(a + (t->v6 ? 8 : 12), b + (t->v6 ? 8 : 12), t->v6 ? 32 : 8) == 0 &&
         memcmp(a + t->l3, b + t->l3, 4) == 0;
}

// same_headers compares what must not differ within a super-packet: the IP fields the
// kernel's GRO compares and the TCP header but sequence number, flags, window and checksum.
static bool same_headers(const uint8_t *h, const uint8_t *q, const tcp_pkt *t) {
  if (t->v6 ? memcmp(h, q, 4) != 0 || h[7] != q[7] : h[1] != q[1] || h[8] != q[8] || (h[6] & 0x40) != (q[6] & 0x40))
    return false;
  const uint8_t *a = h + t->l3, *b = q + t->l3;
  return a[12] == b[12] && memcmp(a + 8, b + 8, 4) == 0 && memcmp(a + 20, b + 20, t->doff - 20) == 0;
}

// ids_ok checks the IPv4 id of the n-th segment against the head's and settles the group's mode.
static bool ids_ok(const uint8_t *h, const uint8_t *q, uint32_t n, uint8_t *mode) {
  uint16_t hid = wn_get16(h + 4), qid = wn_get16(q + 4);
  if (*mode == 0) {
    if (qid == (uint16_t)(hid + 1)) *mode = 1;
    else if (qid == hid && (q[6] & 0x40)) *mode = 2;
    return *mode != 0;
  }
  return *mode == 1 ? qid == (uint16_t)(hid + n) : qid == hid;
}

static bool can_merge(wn_coalesce_scratch *s, uint32_t g, const uint8_t *h, const uint8_t *q, const tcp_pkt *t) {
  wn_item *it = &s->items[g];
  if (!s->open[g] || t->seq != s->next_seq[g] || t->payload > s->gso[g] || it->n >= WN_COALESCE_SEGS ||
      t->l3 + t->doff + s->payload[g] + t->payload > 65535u || !same_headers(h, q, t))
    return false;
  return t->v6 || ids_ok(h, q, it->n, &s->id_mode[g]);
}

// new_item starts an item with packet i; it stays open to merging only if i may be merged.
static void new_item(wn_coalesce_scratch *s, uint32_t k, uint32_t i, const tcp_pkt *t) {
  memset(&s->items[k], 0, sizeof s->items[k]);
  s->items[k].head = s->items[k].last = i;
  s->items[k].n = 1;
  s->next[i] = UINT32_MAX;
  s->hash[k] = t->flow ? t->hash : 0;
  s->open[k] = t->merge && !(t->flags & TCP_PSH);
  s->next_seq[k] = t->seq + t->payload;
  s->payload[k] = s->gso[k] = t->payload;
  s->id_mode[k] = 0;
}

// finish rewrites a merged head's headers for the whole super-packet and fills its header.
static void finish(uint8_t *buf, const uint32_t *offsets, wn_coalesce_scratch *s, uint32_t k) {
  wn_item *it = &s->items[k];
  if (it->n < 2) return; // vnet stays all zeros: written as it came
  uint8_t *p = buf + offsets[it->head];
  tcp_pkt t = {.v6 = p[0] >> 4 == 6}; // the head parsed as a candidate: no options, no extensions
  t.l3 = t.v6 ? 40 : 20;
  t.doff = (p[t.l3 + 12] >> 4) * 4u;
  uint32_t l4len = t.doff + s->payload[k];
  if (t.v6) {
    wn_put16(p + 4, l4len);
  } else {
    wn_put16(p + 2, 20 + l4len);
    wn_put16(p + 10, 0);
    uint16_t c = (uint16_t)~wn_csum_fold(wn_csum_add(0, p, 20));
    memcpy(p + 10, &c, 2);
  }
  const uint8_t *last = buf + offsets[it->last];
  p[t.l3 + 13] |= last[t.l3 + 13] & TCP_PSH;
  // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel folds in the rest.
  uint16_t partial = wn_csum_fold(wn_pseudo_sum(p, t.v6, 6, l4len));
  memcpy(p + t.l3 + 16, &partial, 2);
  wn_vnet_hdr h = {WN_VNET_F_NEEDS_CSUM, t.v6 ? WN_GSO_TCPV6 : WN_GSO_TCPV4, (uint16_t)(t.l3 + t.doff),
                   (uint16_t)s->gso[k], (uint16_t)t.l3, 16};
  wn_vnet_write(it->vnet, &h);
}

uint32_t wn_coalesce(uint8_t *buf, const uint32_t *offsets, const uint32_t *lengths, uint32_t count,
                     wn_coalesce_scratch *s) {
  uint32_t items = 0;
  for (uint32_t i = 0; i < count && i < WN_COALESCE_MAX; i++) {
    const uint8_t *q = buf + offsets[i];
    tcp_pkt t;
    parse(q, lengths[i], &t);
    if (t.flow) {
      // Only the flow's newest item may take the segment, so a flow's packets keep their order.
      for (uint32_t g = items; g-- > 0;) {
        const uint8_t *h = buf + offsets[s->items[g].head];
        if (s->hash[g] != t.hash || !same_flow(h, q, &t)) continue;
        if (t.merge && can_merge(s, g, h, q, &t)) {
          wn_item *it = &s->items[g];
          s->next[it->last] = i;
          s->next[i] = UINT32_MAX;
          it->last = i;
          it->n++;
          s->payload[g] += t.payload;
          s->next_seq[g] += t.payload;
          // A short segment ends a super-packet (every one but the last is gso_size long).
          if (t.payload < s->gso[g] || (t.flags & TCP_PSH)) s->open[g] = 0;
          goto merged;
        }
        s->open[g] = 0;
        break;
      }
    }
    new_item(s, items++, i, &t);
  merged:;
  }
  for (uint32_t k = 0; k < items; k++) finish(buf, offsets, s, k);
  return items;
}

uint32_t wn_item_iov(uint8_t *buf, const uint32_t *offsets, const uint32_t *lengths,
                     wn_coalesce_scratch *s, uint32_t k, struct iovec *iov) {
  wn_item *it = &s->items[k];
  iov[0] = (struct iovec){.iov_base = it->vnet, .iov_len = WN_VNET_HDR_LEN};
  iov[1] = (struct iovec){.iov_base = buf + offsets[it->head], .iov_len = lengths[it->head]};
  uint32_t n = 2;
  for (uint32_t i = s->next[it->head]; i != UINT32_MAX && n < WN_COALESCE_SEGS + 1; i = s->next[i]) {
    uint8_t *q = buf + offsets[i];
    uint32_t hdr = (q[0] >> 4 == 6 ? 40u : 20u) + (q[(q[0] >> 4 == 6 ? 40u : 20u) + 12] >> 4) * 4u;
    iov[n++] = (struct iovec){.iov_base = q + hdr, .iov_len = lengths[i] - hdr};
  }
  return n;
}
