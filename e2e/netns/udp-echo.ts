// udp-echo: a UDP echo server, and a client that sends COUNT datagrams of SIZE bytes and prints
// how many came back intact, to show UDP crossing a tunnel (and a NAT) in both directions.
// Usage: node udp-echo.js serve HOST PORT | node udp-echo.js send HOST PORT COUNT SIZE
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [mode, host = '0.0.0.0', portArg = '0', countArg = '100', sizeArg = '512'] = process.argv.slice(2);
if (mode === 'serve') {
  const s = createSocket('udp4');
  s.on('message', (m, r) => {
    process.stdout.write(JSON.stringify({ from: r.address }) + '\n');
    s.send(m, r.port, r.address);
  });
  s.bind(Number(portArg), host, () => process.stdout.write(JSON.stringify({ listening: s.address().port }) + '\n'));
} else if (mode === 'send') {
  const s = createSocket('udp4');
  const count = Number(countArg);
  const sent = new Set<string>();
  let back = 0;
  s.on('message', (m) => {
    if (sent.delete(m.toString('hex'))) back++;
    if (back === count) finish();
  });
  const finish = (): void => {
    process.stdout.write(JSON.stringify({ sent: count, received: back }) + '\n');
    process.exit(0);
  };
  let i = 0;
  const timer = setInterval(() => {
    const d = randomBytes(Number(sizeArg));
    sent.add(d.toString('hex'));
    s.send(d, Number(portArg), host);
    if (++i === count) {
      clearInterval(timer);
      setTimeout(finish, 2000);
    }
  }, 5);
} else {
  process.stderr.write('usage: udp-echo serve HOST PORT | udp-echo send HOST PORT COUNT SIZE\n');
  process.exit(2);
}
