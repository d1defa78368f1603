// `warren pubkey`: the public key of a private key read from stdin.
import { formatKey, KeyFormatError, parseKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { CliError, type Command } from './command.js';

// A key line is 44 characters; anything much longer is not a key and is not read further.
const MAX_INPUT_BYTES = 4096;

/** pubkeyCommand is `warren pubkey`. */
export const pubkeyCommand: Command = {
  name: 'pubkey',
  summary: 'print the public key of a private key read from stdin',
  usage: 'warren pubkey < private.key',
  details: `
Reads a private key (base64, as printed by \`warren genkey\` or \`wg genkey\`) on stdin and prints
its public key.`,
  options: {},
  async run(_args, io) {
    let text: string;
    try {
      text = (await io.readStdin(MAX_INPUT_BYTES)).trim();
    } catch (e) {
      throw new CliError(`cannot read a key from stdin: ${(e as Error).message}`);
    }
    if (text === '') throw new CliError('no key on stdin (try `warren genkey | warren pubkey`)');
    let priv: Buffer;
    try {
      priv = parseKey(text);
    } catch (e) {
      if (e instanceof KeyFormatError) throw new CliError(`stdin is not a private key: it ${e.message}`);
      throw e;
    }
    io.stdout.write(`${formatKey(publicKeyFromPrivate(priv))}\n`);
    return 0;
  },
};
