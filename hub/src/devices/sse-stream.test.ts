import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { Device } from '../contract.js';
import { MAX_PENDING, SseStream } from './sse-stream.js';

let server: Server;
let stream: SseStream | undefined;
let closed = false;
let snapshots = 0;

function device(i: number, note = ''): Device {
  return {
    id: `dev${String(i).padStart(9, '0')}`,
    name: `pi-${i}`,
    fleet: 'default',
    online: true,
    lastSeenAt: null,
    tags: [],
    status: 'active',
    enrolledAt: new Date(0).toISOString(),
    info: { note },
  };
}

before(async () => {
  server = createServer((_req, res) => {
    stream = new SseStream(
      res,
      async () => {
        snapshots++;
        return [device(0)];
      },
      () => (closed = true),
    );
    void stream.start();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
after(async () => {
  stream?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Resolves when `cond` holds, polling; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a client that stops reading gets a fresh snapshot instead of an unbounded backlog', async () => {
  const port = (server.address() as AddressInfo).port;
  const sock: Socket = connect(port, '127.0.0.1');
  let received = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (received += d));
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => received.includes('event: snapshot'), 5_000, 'first snapshot');
  assert.equal(snapshots, 1);

  // Stop reading: the socket fills up, then deltas pile up in the bounded pending map.
  sock.pause();
  const big = 'x'.repeat(2_000);
  for (let round = 0; round < 20; round++) {
    stream!.push({ devices: Array.from({ length: 1_000 }, (_, i) => device(round * 1_000 + i, big)) });
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(20_000 > MAX_PENDING, 'the test overflows the pending bound');

  // Reading again drains the socket; the stream answers the overflow with a new snapshot.
  sock.resume();
  await until(() => snapshots === 2 && received.split('event: snapshot').length === 3, 20_000, 'second snapshot');
  assert.equal(closed, false);
  sock.destroy();
  await until(() => closed, 5_000, 'stream cleanup on client close');
});
