// The local address of a datagram: which of the host's addresses it was sent to, and which
// address a reply leaves from. The kernel reports the first in a control message when the
// socket asks for it (ip(7) IP_PKTINFO; ipv6(7) and RFC 3542 §6 IPV6_RECVPKTINFO) and takes the
// second from the same kind of control message on sendmsg (IP_PKTINFO's ipi_spec_dst, RFC 3542
// §6.1 IPV6_PKTINFO's ipi6_addr). Addresses are in the four-word form of sockaddr.h, IPv4
// mapped; all zeros means "unknown" on receive and "let the kernel choose" on send.
#ifndef WARREN_PKTINFO_H
#define WARREN_PKTINFO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

// WN_RECV_CTL bounds the control buffer of one received datagram: room for both pktinfo
// messages, though a socket set up by wn_pktinfo_enable gets only one of them (fds.c). Anything
// more is cut off (MSG_CTRUNC) and the datagram then reports no local address.
#define WN_RECV_CTL (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)))

// WN_SEND_CTL is the control buffer of one datagram sent from a chosen source.
#define WN_SEND_CTL CMSG_SPACE(sizeof(struct in6_pktinfo))

// wn_pktinfo_enable asks the socket of `family` to report each datagram's local address: an
// AF_INET socket with IP_PKTINFO, an AF_INET6 one with IPV6_RECVPKTINFO, which on a dual-stack
// socket also covers IPv4 datagrams (Linux reports their destination as IPV6_PKTINFO with an
// IPv4-mapped address). Returns -1 with errno set on failure.
int wn_pktinfo_enable(int fd, int family);

// wn_pktinfo_read writes the local address of a received datagram into w[0..3] and the index of
// the interface it arrived on into *ifindex, from the message's control data; zeros if absent.
void wn_pktinfo_read(const struct msghdr *h, uint32_t *w, uint32_t *ifindex);

// wn_pktinfo_write fills ctl (WN_SEND_CTL bytes, suitably aligned) with the control message
// that sends from the source w[0..3] and returns its length, or 0 when w is all zeros (no
// source: the kernel chooses) or cannot be a source on a socket of `family` (a non-mapped IPv6
// address on an AF_INET socket). A mapped source goes as IP_PKTINFO, which Linux takes on an
// AF_INET6 socket too for an IPv4 destination; an IPv6 one as IPV6_PKTINFO. The interface is
// left to routing (index 0), so a source stays usable when the route to the peer moves.
socklen_t wn_pktinfo_write(int family, const uint32_t *w, void *ctl);

// wn_pktinfo_stale tells whether a send error may mean the chosen source is no longer usable:
// Linux refuses a non-local IPv4 source with ENETUNREACH (ip_route_output_key) and a non-local
// IPv6 one with EINVAL (ip6_datagram_send_ctl); EADDRNOTAVAIL covers a source of the wrong scope.
bool wn_pktinfo_stale(int err);

#endif
