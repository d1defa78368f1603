// Errors of the cross-platform userspace API (https://www.wireguard.com/xplatform/): a reply
// ends with `errno=N` and an empty line. wg(8) takes a set as failed only when N is negative
// (it returns the value and sets errno to -N), so N is a negated errno.h value, as wireguard-go
// (ipc/uapi_unix.go) sends it on Linux.

/** UAPI_ERRNO names the replies this implementation sends. */
export const UAPI_ERRNO = {
  ok: 0,
  /** io: reading the request or writing the reply failed (-EIO). */
  io: -5,
  /** permission: the interface is read-only here (-EPERM: a coordinated helper refuses set). */
  permission: -1,
  /** invalid: an unknown key or a malformed or out-of-range value (-EINVAL). */
  invalid: -22,
  /** protocol: a line without "=", an unknown operation, or a request over its bounds (-EPROTO). */
  protocol: -71,
  /** portInUse: listen_port could not be bound, or fwmark not set on the socket (-EADDRINUSE). */
  portInUse: -98,
  /** unknown: anything else (-ENOANO, as wireguard-go). */
  unknown: -55,
} as const;

/** UapiError is a failed request: the errno for the reply and a message for the log. */
export class UapiError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'UapiError';
  }
}

/** invalid makes the -EINVAL error most parse failures are. */
export function invalid(message: string): UapiError {
  return new UapiError(UAPI_ERRNO.invalid, message);
}

/** errnoOf gives the reply errno for anything thrown while serving a request. */
export function errnoOf(e: unknown): number {
  return e instanceof UapiError ? e.errno : UAPI_ERRNO.unknown;
}
