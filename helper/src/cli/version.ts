// `warren version`.
import { VERSION } from '../version.js';
import type { Command } from './command.js';

/** versionCommand is `warren version`. */
export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version',
  usage: 'warren version',
  details: 'Prints the version of this Warren build.',
  options: {},
  async run(_args, io) {
    io.stdout.write(`warren ${VERSION}\n`);
    return 0;
  },
};
