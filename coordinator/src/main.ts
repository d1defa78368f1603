// Entry point of `warren-coordinator` (bin/warren-coordinator runs the compiled file).
import { runCli } from './cli/cli.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
