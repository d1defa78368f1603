// See sockaddr.h.
#include "sockaddr.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_mapped(const uint32_t *w) { return w[0] == 0 && w[1] == 0 && w[2] == 0xffffu; }

static uint32_t word_at(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static void put_word(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)(v >> 24);
  b[1] = (uint8_t)(v >> 16);
  b[2] = (uint8_t)(v >> 8);
  b[3] = (uint8_t)v;
}

void wn_words_from_name(const struct sockaddr_in6 *name, socklen_t len, uint32_t *w, uint16_t *port) {
  w[0] = w[1] = w[2] = w[3] = 0;
  *port = 0;
  if (len >= (socklen_t)sizeof(struct sockaddr_in) && name->sin6_family == AF_INET) {
    const struct sockaddr_in *sa = (const struct sockaddr_in *)name;
    w[2] = 0xffffu;
    w[3] = ntohl(sa->sin_addr.s_addr);
    *port = ntohs(sa->sin_port);
  } else if (len >= (socklen_t)sizeof(struct sockaddr_in6) && name->sin6_family == AF_INET6) {
    // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d already: the same words.
    const uint8_t *b = name->sin6_addr.s6_addr;
    for (int i = 0; i < 4; i++) w[i] = word_at(b + 4 * i);
    *port = ntohs(name->sin6_port);
  }
}

socklen_t wn_name_from_words(int family, const uint32_t *w, uint16_t port, struct sockaddr_in6 *sa) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_INET) {
    if (!is_mapped(w)) return 0;
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(w[3]);
    s4->sin_port = htons(port);
    return sizeof *s4;
  }
  // AF_INET6: a mapped address reaches IPv4 only if the socket is dual-stack (IPV6_V6ONLY=0);
  // on a v6-only socket the kernel refuses it (ENETUNREACH), which counts as not sent.
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(port);
  for (int i = 0; i < 4; i++) put_word(sa->sin6_addr.s6_addr + 4 * i, w[i]);
  return sizeof *sa;
}

int wn_socket_family(int fd) {
  int domain = 0;
  socklen_t dlen = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0) return -1;
  return domain;
}
