// Socket addresses to and from the four-word form that batches carry (src-shared/lib/ip/words.ts):
// an address is four host-order 32-bit words, w0 the most significant, and an IPv4 address is
// always written IPv4-mapped, ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so one comparison of four
// words covers both families.
//
// Scope ids (RFC 4007 §6) are not carried: a link-local IPv6 source (fe80::/10) arrives without
// its interface, and sending to one fails in the kernel (EINVAL), which counts as not sent.
#ifndef WARREN_SOCKADDR_H
#define WARREN_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

// wn_words_from_name writes the source address of a received datagram into w[0..3] and its
// port into *port; an unknown family or a short name gives zeros (no address).
void wn_words_from_name(const struct sockaddr_in6 *name, socklen_t len, uint32_t *w, uint16_t *port);

// wn_name_from_words fills *sa for sending from a socket of `family` (AF_INET or AF_INET6) and
// returns its length, or 0 when the address cannot leave that socket: a non-mapped IPv6
// address on an AF_INET socket.
socklen_t wn_name_from_words(int family, const uint32_t *w, uint16_t port, struct sockaddr_in6 *sa);

// wn_socket_family returns the socket's family (SO_DOMAIN), or -1 with errno set.
int wn_socket_family(int fd);

#endif
