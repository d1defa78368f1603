// callHelper runs one request against the helper's local API and turns the client's errors
// into the CLI's messages, so every subcommand words "not running" and "denied" the same way.
import {
  ApiClient,
  ApiError,
  HelperNotRunning,
  PermissionDenied,
} from '../../../src-shared/lib/helper-client/client.js';
import { UntrustedSocket } from '../../../src-shared/lib/helper-client/errors.js';
import { CliError } from './command.js';

/** callHelper calls fn with a client for socketPath and maps failures to CliErrors. */
export async function callHelper<T>(socketPath: string, fn: (c: ApiClient) => Promise<T>): Promise<T> {
  try {
    return await fn(new ApiClient(socketPath));
  } catch (e) {
    throw cliErrorOf(e, socketPath);
  }
}

/** cliErrorOf words a client error as the CLI does; anything else is returned as it is. */
export function cliErrorOf(e: unknown, socketPath: string): unknown {
  if (e instanceof HelperNotRunning) {
    return new CliError(
      `warren: ${e.message}; start it with \`warren start\` (the service) or \`warren run\``,
      1,
      true,
    );
  }
  if (e instanceof PermissionDenied) {
    return new CliError(
      `warren: permission denied on ${socketPath}; run as root or as a member of the operator group`,
      1,
      true,
    );
  }
  if (e instanceof UntrustedSocket) return new CliError(`warren: ${e.message}`, 1, true);
  if (e instanceof ApiError) return new CliError(`warren: ${e.message}`, 1, true);
  return e;
}
