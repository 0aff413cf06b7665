import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type Loose, type TestHub } from '../http/test-hub.js';
import { MAX_STREAMS, MAX_STREAMS_PER_USER } from './events.controller.js';

let t: TestHub;
let admin: string;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
});
after(async () => {
  await t?.close();
});

interface Open {
  ac: AbortController;
  // Kept referenced: fetch cancels an unread body once its Response is collected.
  res: Response;
}
const open: Open[] = [];

/** Opens GET /api/events; a 200 stays open (in `open`), anything else is read and returned. */
async function openStream(token: string): Promise<{ status: number; body?: Loose; stream?: Open }> {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  if (res.status === 200) {
    const stream = { ac, res };
    open.push(stream);
    return { status: 200, stream };
  }
  return { status: res.status, body: await res.json() };
}

function closeAll(): void {
  for (const o of open.splice(0)) o.ac.abort();
}

/** Polls until `fn` holds (the hub notices a closed socket asynchronously); bounded. */
async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function openStreamsGauge(): Promise<number> {
  const r = await t.api<string>('GET', '/metrics', { token: admin });
  const m = /^pifleet_sse_streams (\d+)$/m.exec(r.body);
  return Number(m?.[1] ?? NaN);
}

async function allClosed(): Promise<void> {
  closeAll();
  await until('every stream closed on the hub', async () => (await openStreamsGauge()) === 0);
}

test('one user cannot take every live stream: past the per-user cap it gets 429, others still get one', async () => {
  assert.ok(MAX_STREAMS_PER_USER < MAX_STREAMS);
  const created = await t.api('POST', '/api/users', { token: admin, body: { username: 'streamer', password: 'streamer-password', role: 'viewer' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const viewer = await t.login('streamer', 'streamer-password');
  try {
    const mine: Open[] = [];
    for (let i = 0; i < MAX_STREAMS_PER_USER; i++) {
      const r = await openStream(viewer);
      assert.equal(r.status, 200, `stream ${i + 1} of ${MAX_STREAMS_PER_USER}`);
      mine.push(r.stream!);
    }
    const refused = await openStream(viewer);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'too_many_requests');
    assert.match(refused.body.message, new RegExp(`${MAX_STREAMS_PER_USER}`));
    assert.match(refused.body.message, /close/i, 'the message says what to do');

    // Another login of the same user counts against the same cap; another user is not affected.
    const again = await t.login('streamer', 'streamer-password');
    assert.equal((await openStream(again)).status, 429);
    assert.equal((await openStream(admin)).status, 200);
    const other = await t.userToken('viewer', admin);
    assert.equal((await openStream(other)).status, 200);

    // Closing one of the user's streams gives the user a slot back.
    mine[0]!.ac.abort();
    let status = 0;
    await until('a freed slot', async () => {
      const r = await openStream(viewer);
      status = r.status;
      return status === 200;
    });
    assert.equal(status, 200);
    assert.equal((await openStream(viewer)).status, 429, 'and only the one');
  } finally {
    await allClosed();
  }
});

test('the global cap still holds across users (503), and closed streams free their places', async () => {
  const users: string[] = [];
  try {
    const needed = Math.ceil(MAX_STREAMS / MAX_STREAMS_PER_USER);
    for (let u = 0; u < needed; u++) users.push(await t.userToken('viewer', admin));
    let opened = 0;
    for (const token of users) {
      for (let i = 0; i < MAX_STREAMS_PER_USER && opened < MAX_STREAMS; i++, opened++) {
        assert.equal((await openStream(token)).status, 200, `stream ${opened + 1}`);
      }
    }
    assert.equal(await openStreamsGauge(), MAX_STREAMS);
    const late = await openStream(admin);
    assert.equal(late.status, 503, JSON.stringify(late.body));
    assert.equal(late.body.code, 'unavailable');
    open.pop()!.ac.abort();
    await until('a freed global slot', async () => (await openStream(admin)).status === 200);
  } finally {
    await allClosed();
  }
});
