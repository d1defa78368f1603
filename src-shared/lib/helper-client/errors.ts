// The local API client's errors, typed so that callers (the CLI, the app) can say what to do next.

/** ApiClientError is the base of every error the client throws. */
export class ApiClientError extends Error {
  override name = 'ApiClientError';
}

/** HelperNotRunning: no socket file (ENOENT) or nobody listening on it (ECONNREFUSED). */
export class HelperNotRunning extends ApiClientError {
  override name = 'HelperNotRunning';
  constructor(
    readonly socketPath: string,
    readonly reason: 'no-socket' | 'not-listening',
  ) {
    super(
      reason === 'no-socket'
        ? `the helper is not running (no socket at ${socketPath})`
        : `the helper is not running (nothing is listening on ${socketPath})`,
    );
  }
}

/** PermissionDenied: the socket exists but this user may not connect to it (EACCES). */
export class PermissionDenied extends ApiClientError {
  override name = 'PermissionDenied';
  constructor(readonly socketPath: string) {
    super(`permission denied connecting to ${socketPath}`);
  }
}

/** UntrustedSocket: the path is not a socket owned by root (or this user); nothing was sent. */
export class UntrustedSocket extends ApiClientError {
  override name = 'UntrustedSocket';
  constructor(
    readonly socketPath: string,
    readonly ownerUid: number | null,
  ) {
    super(
      ownerUid === null
        ? `${socketPath} is not a socket; refusing to talk to it`
        : `${socketPath} is owned by uid ${ownerUid}, not root; refusing to talk to it ` +
            '(another user may be posing as the helper: check who created it)',
    );
  }
}

/** ApiError is an error the helper answered with, or a response the client could not use. */
export class ApiError extends ApiClientError {
  override name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
  }
}
