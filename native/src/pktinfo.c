// See pktinfo.h.
#include "pktinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static bool is_zero(const uint32_t *w) { return (w[0] | w[1] | w[2] | w[3]) == 0; }
static bool is_mapped(const uint32_t *w) { return w[0] == 0 && w[1] == 0 && w[2] == 0xffffu; }

int wn_pktinfo_enable(int fd, int family) {
  int one = 1;
  if (family == AF_INET) return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
}

void wn_pktinfo_read(const struct msghdr *h, uint32_t *w, uint32_t *ifindex) {
  w[0] = w[1] = w[2] = w[3] = 0;
  *ifindex = 0;
  if (h->msg_controllen == 0 || (h->msg_flags & MSG_CTRUNC)) return;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      // ipi_addr is the header's destination; ipi_spec_dst the address routing would answer
      // from, which differs for broadcast: the destination is what the peer wrote to.
      w[2] = 0xffffu;
      w[3] = ntohl(pi.ipi_addr.s_addr);
      *ifindex = (uint32_t)pi.ipi_ifindex;
      return;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      for (int i = 0; i < 4; i++) {
        const uint8_t *b = pi.ipi6_addr.s6_addr + 4 * i;
        w[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
      }
      *ifindex = pi.ipi6_ifindex;
      return;
    }
  }
}

socklen_t wn_pktinfo_write(int family, const uint32_t *w, void *ctl) {
  if (is_zero(w)) return 0;
  struct cmsghdr *c = ctl;
  if (is_mapped(w)) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_spec_dst.s_addr = htonl(w[3]);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  if (family != AF_INET6) return 0;
  struct in6_pktinfo pi;
  memset(&pi, 0, sizeof pi);
  for (int i = 0; i < 4; i++) {
    uint8_t *b = pi.ipi6_addr.s6_addr + 4 * i;
    b[0] = (uint8_t)(w[i] >> 24);
    b[1] = (uint8_t)(w[i] >> 16);
    b[2] = (uint8_t)(w[i] >> 8);
    b[3] = (uint8_t)w[i];
  }
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof pi);
  memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof pi);
}

bool wn_pktinfo_stale(int err) { return err == EINVAL || err == ENETUNREACH || err == EADDRNOTAVAIL; }
