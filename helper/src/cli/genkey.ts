// `warren genkey`: a new X25519 private key in WireGuard's text form.
import { formatKey, generatePrivateKey } from '../../../src-shared/lib/keys.js';
import type { Command } from './command.js';

/** genkeyCommand is `warren genkey`. */
export const genkeyCommand: Command = {
  name: 'genkey',
  summary: 'print a new private key',
  usage: 'warren genkey',
  details: `
Prints a new random X25519 private key (base64, the same form as \`wg genkey\`).
Keep it secret: \`warren genkey | tee private.key | warren pubkey\`.`,
  options: {},
  async run(_args, io) {
    io.stdout.write(`${formatKey(generatePrivateKey())}\n`);
    return 0;
  },
};
