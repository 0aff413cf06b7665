import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { HubError } from './errors.js';
import { HubClient, IdleDeadline } from './http-client.js';

void describe('IdleDeadline', () => {
  // The deadline's timer is unref'd (it must not keep the CLI alive); this keeps the test alive.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => undefined, 1000);
  });
  after(() => clearInterval(keepAlive));

  void it('aborts only after a whole interval without a touch', async () => {
    const d = new IdleDeadline(500);
    const aborted = new Promise<number>((resolve) => d.signal.addEventListener('abort', () => resolve(Date.now())));
    let lastTouch = Date.now();
    const ticker = setInterval(() => {
      d.touch();
      lastTouch = Date.now();
    }, 50);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(ticker);
    // Twice the deadline has passed: only the touches can have kept it from firing.
    assert.equal(d.signal.aborted, false, 'kept alive while touched');
    const at = await aborted;
    assert.ok(at - lastTouch >= 490, `aborted ${at - lastTouch} ms after the last touch`);
    assert.equal((d.signal.reason as Error).name, 'TimeoutError');
    assert.match((d.signal.reason as Error).message, /no progress for 0\.5s/);
  });

  void it('never fires once stopped', async () => {
    const d = new IdleDeadline(20);
    d.stop();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(d.signal.aborted, false);
  });
});

void describe('HubClient.upload', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/refuse') {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'invalid_image', message: 'no manifest.json', details: { at: 'x' } }));
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ n: body.length, type: req.headers['content-type'], len: req.headers['content-length'] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  async function* parts(n: number, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < n; i++) yield Buffer.alloc(size, i);
  }

  void it('streams the parts as one raw body with the declared length', async () => {
    const got = await new HubClient(url, 't').upload('/ok', z.object({ n: z.number(), type: z.string(), len: z.string() }), parts(5, 1000), 5000);
    assert.deepEqual(got, { n: 5000, type: 'application/octet-stream', len: '5000' });
  });

  void it("keeps the hub's error code, message and details", async () => {
    await assert.rejects(new HubClient(url, 't').upload('/refuse', z.unknown(), parts(1, 10), 10), (e: HubError) => {
      assert.ok(e instanceof HubError);
      assert.deepEqual([e.status, e.code, e.message, e.details], [400, 'invalid_image', 'no manifest.json', { at: 'x' }]);
      return true;
    });
  });

  void it('reports a failure to read the file as that, not as the network', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(10);
      throw new Error('EIO: i/o error, read');
    }
    await assert.rejects(new HubClient(url, 't').upload('/ok', z.unknown(), broken(), 20), /^Error: cannot read the upload: EIO: i\/o error, read$/);
  });
});
