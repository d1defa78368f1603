// The real process behind CliIo.
import type { CliIo } from './command.js';

/** processIo wires a command to this process's stdio, environment and clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: Date.now,
    readStdin: (maxBytes) =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        process.stdin.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            process.stdin.destroy();
            reject(new Error(`input is longer than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.once('error', reject);
      }),
  };
}
