// Opening and closing the helper's descriptors: the TUN device, the UDP socket of the WireGuard
// bind, and the peer credentials of local API connections.
#include "common.h"
#include "pktinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

// Socket buffers large enough to absorb a few milliseconds of line-rate bursts while JS is busy.
#define WN_SOCKBUF (8 * 1024 * 1024)

// valid_ifname mirrors the kernel's dev_valid_name so that a bad name fails with a clear
// message before any syscall. An empty name lets the kernel choose (tun0, tun1, ...).
static bool valid_ifname(const char *name) {
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return false;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if (*p <= ' ' || *p == '/' || *p == ':' || *p >= 0x7f) return false;
  }
  return true;
}

// open_tun attaches to the device with flags; -errno on failure.
static int open_tun(const char *name, size_t len, short flags, struct ifreq *ifr) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  memset(ifr, 0, sizeof *ifr);
  ifr->ifr_flags = flags;
  memcpy(ifr->ifr_name, name, len);
  if (ioctl(fd, TUNSETIFF, ifr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  // open() already asked for O_NONBLOCK; make sure it held after TUNSETIFF.
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

// set_offloads offers the kernel segmentation offloads on a IFF_VNET_HDR device: TSO and,
// where the kernel knows them (Linux 6.2+), USO; it refuses unknown bits with EINVAL. Returns
// the flags granted, or -1 when even TUN_F_CSUM is refused.
static int set_offloads(int fd) {
  int hdr = 10; // sizeof(struct virtio_net_hdr): no num_buffers, no hash report
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) return -1;
  unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0) return (int)(tso | TUN_F_USO4 | TUN_F_USO6);
  if (ioctl(fd, TUNSETOFFLOAD, tso) == 0) return (int)tso;
  return -1;
}

// wn_tun_open(name, offload): with offload it tries IFF_VNET_HDR and the offloads, and falls
// back to a plain device (reopened, since TUNSETIFF flags are fixed once attached) when the
// kernel refuses either.
napi_value wn_tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!wn_args(env, info, 2, argv)) return NULL;
  char name[IFNAMSIZ];
  size_t len;
  if (!wn_arg_string(env, argv[0], "tunOpen: name", name, sizeof name, &len)) return NULL;
  if (strlen(name) != len || !valid_ifname(name))
    return wn_throw_range(env, "tunOpen: invalid interface name \"%s\"", name);
  bool offload = false;
  napi_valuetype t;
  if (napi_typeof(env, argv[1], &t) != napi_ok) return NULL;
  if (t == napi_boolean) napi_get_value_bool(env, argv[1], &offload);
  else if (t != napi_undefined) return wn_throw_type(env, "tunOpen: offload must be a boolean");

  struct ifreq ifr;
  int granted = 0, fd = -1;
  if (offload) {
    fd = open_tun(name, len, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, &ifr);
    if (fd >= 0 && (granted = set_offloads(fd)) < 0) {
      close(fd);
      fd = -1;
    }
    if (fd == -EBUSY || fd == -EPERM || fd == -EACCES || fd == -ENOENT) return wn_throw_errno(env, -fd, "TUNSETIFF %s", name);
  }
  if (fd < 0) {
    granted = 0;
    fd = open_tun(name, len, IFF_TUN | IFF_NO_PI, &ifr);
  }
  if (fd < 0) return wn_throw_errno(env, -fd, "TUNSETIFF %s", name);
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  napi_value obj, jname;
  if (napi_create_object(env, &obj) != napi_ok ||
      napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &jname) != napi_ok ||
      !wn_set(env, obj, "fd", wn_number(env, fd)) || !wn_set(env, obj, "name", jname) ||
      !wn_set(env, obj, "vnetHdr", wn_bool(env, granted != 0)) ||
      !wn_set(env, obj, "tso", wn_bool(env, (granted & TUN_F_TSO4) != 0)) ||
      !wn_set(env, obj, "uso", wn_bool(env, (granted & TUN_F_USO4) != 0))) {
    close(fd);
    return NULL;
  }
  return obj;
}

// set_buf asks for a big buffer, first past the sysctl limit (root only), then within it.
static void set_buf(int fd, int force_opt, int opt) {
  int size = WN_SOCKBUF;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size); // best effort: the default still works
}

// parse_bind reads the bind address: an IPv4 literal gives AF_INET; an IPv6 literal AF_INET6.
static socklen_t parse_bind(const char *ip, uint16_t port, struct sockaddr_in6 *sa) {
  memset(sa, 0, sizeof *sa);
  struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
  if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    return sizeof *s4;
  }
  if (inet_pton(AF_INET6, ip, &sa->sin6_addr) == 1) {
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    return sizeof *sa;
  }
  return 0;
}

// open_udp makes the socket. "::" is dual-stack (IPV6_V6ONLY=0: IPv4 peers appear as
// ::ffff:a.b.c.d, RFC 3493 §3.7, and one socket serves both families); any other IPv6 address
// is v6-only, so the bind means exactly the address asked for, whatever net.ipv6.bindv6only says.
static int open_udp(const struct sockaddr_in6 *sa) {
  int fd = socket(sa->sin6_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || sa->sin6_family != AF_INET6) return fd;
  int v6only = IN6_IS_ADDR_UNSPECIFIED(&sa->sin6_addr) ? 0 : 1;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

napi_value wn_udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!wn_args(env, info, 2, argv)) return NULL;
  char ip[INET6_ADDRSTRLEN + 1];
  size_t len;
  uint32_t port;
  if (!wn_arg_string(env, argv[0], "udpOpen: bindIp", ip, sizeof ip, &len) ||
      !wn_arg_u32(env, argv[1], "udpOpen: port", 0, 65535, &port))
    return NULL;
  struct sockaddr_in6 sa;
  socklen_t salen = strlen(ip) == len ? parse_bind(ip, (uint16_t)port, &sa) : 0;
  if (salen == 0) return wn_throw_type(env, "udpOpen: bindIp \"%s\" is not an IPv4 or IPv6 address", ip);

  int fd = open_udp(&sa);
  if (fd < 0) return wn_throw_errno(env, errno, "socket udp %s", ip);
  // No SO_REUSEADDR: a second helper on the same port must fail, not share the traffic.
  int off = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof off);
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  // Every datagram reports the local address it arrived on, so that replies can leave from it
  // (pktinfo.h): on a multi-homed host the peer expects the answer from where it wrote to.
  if (wn_pktinfo_enable(fd, sa.sin6_family) < 0) {
    int err = errno;
    close(fd);
    return wn_throw_errno(env, err, "setsockopt pktinfo udp %s", ip);
  }
  if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
    int err = errno;
    close(fd);
    bool v6 = sa.sin6_family == AF_INET6;
    return wn_throw_errno(env, err, "bind %s%s%s:%u", v6 ? "[" : "", ip, v6 ? "]" : "", port);
  }
  socklen_t got = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &got) < 0) {
    int err = errno;
    close(fd);
    return wn_throw_errno(env, err, "getsockname %s, port %u", ip, port);
  }
  // sin_port and sin6_port sit at the same offset, as every sockaddr's port does.
  uint16_t bound = ntohs(sa.sin6_port);
  int family = sa.sin6_family == AF_INET6 ? 6 : 4;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !wn_set(env, obj, "fd", wn_number(env, fd)) ||
      !wn_set(env, obj, "port", wn_number(env, bound)) ||
      !wn_set(env, obj, "family", wn_number(env, family))) {
    close(fd);
    return NULL;
  }
  return obj;
}

// wn_set_mark sets SO_MARK on a socket: the full-tunnel policy rule routes every unmarked packet
// into the tunnel, and the marked WireGuard datagrams to the exit node keep the main table
// (as wg-quick's fwmark does). Needs CAP_NET_ADMIN. Mark 0 clears it.
napi_value wn_set_mark(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t mark;
  if (!wn_args(env, info, 2, argv) || !wn_arg_fd(env, argv[0], "setMark", &fd) ||
      !wn_arg_u32(env, argv[1], "setMark: mark", 0, 0xffffffffu, &mark))
    return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) return wn_throw_errno(env, errno, "setsockopt SO_MARK %u", mark);
  return NULL;
}

// wn_packet_pair() returns two connected, non-blocking Unix SOCK_SEQPACKET descriptors: each
// read returns one whole packet and each write sends one, as on a TUN descriptor, so the
// adapter code and the readers can run over it where no adapter may be made (the packet path's
// warm-up, helper/src/daemon/warm-up.ts).
napi_value wn_packet_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  napi_value arr, v;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
    return wn_throw_errno(env, errno, "socketpair AF_UNIX SOCK_SEQPACKET");
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok) goto fail;
  for (uint32_t i = 0; i < 2; i++)
    if (napi_create_int32(env, fds[i], &v) != napi_ok || napi_set_element(env, arr, i, v) != napi_ok)
      goto fail;
  return arr;
fail:
  close(fds[0]);
  close(fds[1]);
  return NULL;
}

napi_value wn_close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!wn_args(env, info, 1, argv) || !wn_arg_fd(env, argv[0], "closeFd", &fd)) return NULL;
  // On Linux the descriptor is released even when close() reports EINTR, so never retry.
  if (close(fd) < 0 && errno != EINTR) return wn_throw_errno(env, errno, "close fd %d", fd);
  return NULL;
}

napi_value wn_peer_credentials(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!wn_args(env, info, 1, argv) || !wn_arg_fd(env, argv[0], "peerCredentials", &fd))
    return NULL;
  // Other socket families answer SO_PEERCRED with made-up credentials (the overflow uid), and
  // an unconnected Unix socket with pid 0; refuse both so a caller cannot mistake them for a
  // real peer.
  int domain = 0;
  socklen_t dlen = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0)
    return wn_throw_errno(env, errno, "SO_PEERCRED fd %d", fd);
  if (domain != AF_UNIX) return wn_throw_errno(env, EAFNOSUPPORT, "SO_PEERCRED fd %d", fd);
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    return wn_throw_errno(env, errno, "SO_PEERCRED fd %d", fd);
  if (cred.pid == 0) return wn_throw_errno(env, ENOTCONN, "SO_PEERCRED fd %d", fd);
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !wn_set(env, obj, "pid", wn_number(env, cred.pid)) ||
      !wn_set(env, obj, "uid", wn_number(env, cred.uid)) ||
      !wn_set(env, obj, "gid", wn_number(env, cred.gid)))
    return NULL;
  return obj;
}
