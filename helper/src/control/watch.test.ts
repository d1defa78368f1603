// readEvents against a real HTTP response: events split across writes arrive whole, garbled
// and unknown events are skipped, and an event past the bound ends the stream with an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WatchEvent } from '../../../src-shared/wire/control.js';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import { readEvents } from './watch.js';

async function stream(
  write: (res: import('node:http').ServerResponse) => void,
): Promise<{ events: WatchEvent[]; error: Error | null }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    write(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const res = await new Promise<IncomingMessage>((r) => get(`http://127.0.0.1:${port}/`, r));
    const events: WatchEvent[] = [];
    let error: Error | null = null;
    await readEvents(res, (e) => events.push(e)).catch((e: Error) => {
      error = e;
    });
    return { events, error };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('events split across writes arrive whole; garbled and unknown ones are skipped', async () => {
  const { events, error } = await stream((res) => {
    res.write('event: ping\ndata: {"type":"pi');
    res.write('ng","ts":1}\n\nevent: map\ndata: {not json\n\n');
    res.write('data: {"type":"surprise"}\n\n: comment\r\ndata: {"type":"pending"}\r\n\r\n');
    res.end();
  });
  assert.equal(error, null);
  assert.deepEqual(events, [{ type: 'ping', ts: 1 }, { type: 'pending' }]);
});

test('an event larger than the bound ends the stream with an error', async () => {
  const { events, error } = await stream((res) => {
    const chunk = 'x'.repeat(1 << 20);
    res.write('data: ');
    let sent = 0;
    const more = (): void => {
      while (sent <= CONTROL_LIMITS.mapBytes * 2) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => undefined);
    more();
  });
  assert.deepEqual(events, []);
  assert.match(String(error?.message), /too large/);
});
