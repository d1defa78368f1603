// Entry point of the `warren` command (bin/warren imports this file).
import { runCli } from './cli.js';
import { processIo } from './io.js';

// `warren status | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
