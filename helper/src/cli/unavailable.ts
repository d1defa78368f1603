// Subcommands that later versions implement; they say so instead of pretending.
import { CliError, EXIT, type Command } from './command.js';

// None at the moment: start and stop are in service.ts. Kept so the next placeholder is one line.
const LATER: [string, string][] = [];

/** unavailableCommands are the subcommands not available in this version. */
export const unavailableCommands: Command[] = LATER.map(([name, summary]) => ({
  name,
  summary: `${summary} (not available yet)`,
  usage: `warren ${name}`,
  details: 'Not available yet in this version.',
  options: {},
  unparsed: true,
  async run() {
    throw new CliError(`warren ${name}: not available yet in this version`, EXIT.usage, true);
  },
}));
