// Entry point of `warren-relay` (bin/warren-relay runs the compiled file).
import { runRelayCli } from './cli.js';

process.exitCode = await runRelayCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
