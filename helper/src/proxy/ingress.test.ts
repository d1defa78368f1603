import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createLogger } from '../../../src-shared/lib/log.js';
import { startIngressProxy } from './ingress.js';

const lines: string[] = [];
const log = createLogger(2, { write: (l: string) => lines.push(l) });

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

function connectAndEcho(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.end(msg);
  });
}

test('ingress forwards both ways, passes half-close and enforces max connections', async () => {
  const service = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('!'));
  });
  const target = await listen(service);
  const ing = await startIngressProxy({
    listenHost: '127.0.0.1',
    listenPort: 0,
    targetPort: target,
    log,
    maxConnections: 2,
  });
  try {
    assert.equal(await connectAndEcho(ing.port, 'hi'), 'hi!');
    assert.ok(
      lines.some((l) =>
        new RegExp(
          `VERBOSE ingress: 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${ing.port} accepted: forwarding to 127\\.0\\.0\\.1:${target}\n$`,
        ).test(l),
      ),
      lines.join(''),
    );
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<net.Socket>((r) => {
            const s = net.connect(ing.port, '127.0.0.1', () => r(s));
          }),
      ),
    );
    await waitFor(() => ing.stats().active === 2);
    // The third connection is reset without reaching the service.
    const third = await new Promise<string>((resolve) => {
      const s = net.connect(ing.port, '127.0.0.1');
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('close', () => resolve('closed'));
    });
    assert.ok(['ECONNRESET', 'closed'].includes(third), third);
    assert.equal(ing.stats().busy, 1);
    assert.ok(
      lines.some((l) => / refused: 2 connections open \(the limit\)\n$/.test(l)),
      lines.join(''),
    );
    for (const s of held) s.destroy();
    await waitFor(() => ing.stats().active === 0);
    assert.equal(await connectAndEcho(ing.port, 'again'), 'again!');
  } finally {
    await ing.close();
    service.close();
  }
});

test('ingress closes idle connections and reports an unreachable target', async () => {
  const service = net.createServer((s) => s.on('error', () => undefined));
  const target = await listen(service);
  const ing = await startIngressProxy({ listenHost: '127.0.0.1', listenPort: 0, targetPort: target, log, idleMs: 200 });
  try {
    const t0 = Date.now();
    await new Promise<void>((r) =>
      net
        .connect(ing.port, '127.0.0.1')
        .on('close', () => r())
        .on('error', () => undefined),
    );
    assert.ok(Date.now() - t0 >= 150 && Date.now() - t0 < 3000);
  } finally {
    await ing.close();
    await new Promise<void>((r) => service.close(() => r()));
  }
  const ing2 = await startIngressProxy({ listenHost: '127.0.0.1', listenPort: 0, targetPort: target, log });
  try {
    await new Promise<void>((r) =>
      net
        .connect(ing2.port, '127.0.0.1')
        .on('close', () => r())
        .on('error', () => undefined),
    );
    await waitFor(() => ing2.stats().targetFailures === 1 && ing2.stats().active === 0);
    assert.ok(
      lines.some((l) =>
        new RegExp(`VERBOSE ingress: .* failed: 127\\.0\\.0\\.1:${target} unreachable \\(ECONNREFUSED\\)\n$`).test(l),
      ),
      lines.join(''),
    );
  } finally {
    await ing2.close();
  }
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
