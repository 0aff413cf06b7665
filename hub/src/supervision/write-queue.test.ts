import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../broker/mqtt-test-helpers.js';
import { WriteQueue, type PushOutcome, type WriteQueueOptions } from './write-queue.js';

interface Row {
  key: string;
  v: number;
  poison?: boolean;
}

/** A database stand-in: errors carry the SQLSTATE / errno the real drivers put in `code`. */
function fakeDb() {
  const db = {
    committed: [] as Row[],
    statements: [] as number[],
    away: false,
    async write(rows: Row[]) {
      await new Promise((r) => setTimeout(r, 5));
      db.statements.push(rows.length);
      if (db.away) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (rows.some((r) => r.poison)) throw Object.assign(new Error('integer out of range'), { code: '22003' });
      db.committed.push(...rows);
    },
  };
  return db;
}

function queue(db: ReturnType<typeof fakeDb>, over: Partial<WriteQueueOptions<Row>> = {}) {
  const seen = { rejected: [] as Row[], failed: 0 };
  const q = new WriteQueue<Row>({
    capacity: 100,
    maxWaiters: 10,
    batchRows: 50,
    key: (r) => r.key,
    merge: (a, b) => (b.v >= a.v ? b : a),
    write: (rows) => db.write(rows),
    onRejected: (r) => seen.rejected.push(r),
    onFailed: () => seen.failed++,
    ...over,
  });
  return { q, seen };
}

test('a push resolves after its row is committed; rows pushed together share one statement', async () => {
  const db = fakeDb();
  const { q } = queue(db);
  const outcomes = await Promise.all(
    ['a', 'b', 'c'].map(async (key) => {
      const o = await q.push({ key, v: 1 });
      assert.ok(db.committed.some((r) => r.key === key), `${key} committed before its push resolved`);
      return o;
    }),
  );
  assert.deepEqual(outcomes, ['written', 'written', 'written']);
  assert.deepEqual(db.statements, [3]);
  assert.equal(q.size, 0);
});

test('rows with the same key are coalesced while they wait (merge decides which is kept)', async () => {
  const db = fakeDb();
  const { q } = queue(db);
  const outcomes = await Promise.all([q.push({ key: 'a', v: 2 }), q.push({ key: 'a', v: 5 }), q.push({ key: 'a', v: 3 })]);
  assert.deepEqual(outcomes, ['written', 'written', 'written']);
  assert.deepEqual(db.committed, [{ key: 'a', v: 5 }]);
});

test('a row the database refuses is isolated; the others of its batch are written', async () => {
  const db = fakeDb();
  const { q, seen } = queue(db);
  const rows: Row[] = Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, v: i, poison: i === 5 }));
  const outcomes = await Promise.all(rows.map((r) => q.push(r)));
  assert.deepEqual(outcomes, rows.map((r) => (r.poison ? 'rejected' : 'written')));
  assert.deepEqual(seen.rejected.map((r) => r.key), ['k5']);
  assert.deepEqual(db.committed.map((r) => r.key).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k6', 'k7']);
});

test('database away: rows are held (push resolves `held`), retried with backoff and written once it is back', async () => {
  const db = fakeDb();
  const { q, seen } = queue(db);
  db.away = true;
  assert.equal(await q.push({ key: 'a', v: 1 }), 'held');
  assert.equal(seen.failed, 1);
  assert.equal(q.size, 1, 'still counted against the capacity');
  // A newer row for the same key while held: one row is written, the newer.
  assert.equal(await q.push({ key: 'a', v: 2 }), 'held');
  db.away = false;
  await until('written after the outage', () => db.committed.length > 0, 10_000);
  assert.deepEqual(db.committed, [{ key: 'a', v: 2 }]);
  assert.equal(q.size, 0);
  q.close();
});

test('a full queue makes pushes wait (backpressure) and drops past the waiter bound', async () => {
  const db = fakeDb();
  const { q } = queue(db, { capacity: 2, maxWaiters: 1 });
  db.away = true;
  assert.deepEqual(await Promise.all([q.push({ key: 'a', v: 1 }), q.push({ key: 'b', v: 1 })]), ['held', 'held']);
  let waited: PushOutcome | undefined;
  const waiting = q.push({ key: 'c', v: 1 }).then((o) => (waited = o));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(waited, undefined, 'waits while the queue is full');
  assert.equal(q.waiting, 1);
  assert.equal(await q.push({ key: 'd', v: 1 }), 'dropped');
  // A row for a key already queued joins it without needing room.
  assert.equal(await q.push({ key: 'a', v: 2 }), 'held');
  db.away = false;
  await q.flush();
  await waiting;
  assert.equal(waited, 'written');
  assert.deepEqual(db.committed.map((r) => `${r.key}${r.v}`).sort(), ['a2', 'b1', 'c1']);
  q.close();
});

test('weights: capacity counts weight, and one row heavier than the capacity still gets into an empty queue', async () => {
  const db = fakeDb();
  const { q } = queue(db, { capacity: 10, weight: (r) => r.v });
  db.away = true;
  assert.equal(await q.push({ key: 'huge', v: 50 }), 'held');
  assert.equal(q.size, 50);
  let second: PushOutcome | undefined;
  const p = q.push({ key: 'small', v: 1 }).then((o) => (second = o));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(second, undefined);
  db.away = false;
  await q.flush();
  await p;
  assert.equal(second, 'written');
  assert.equal(q.size, 0);
  q.close();
});

test('after close no retry is scheduled; flush still writes what is held', async () => {
  const db = fakeDb();
  const { q, seen } = queue(db);
  db.away = true;
  await q.push({ key: 'a', v: 1 });
  q.close();
  const statements = db.statements.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(db.statements.length, statements, 'no retry after close');
  db.away = false;
  await q.flush();
  assert.deepEqual(db.committed, [{ key: 'a', v: 1 }]);
  assert.equal(seen.failed, 1);
});

test('settleOnQueue: a push resolves once queued (the writer then batches), and still waits while the queue is full', async () => {
  const db = fakeDb();
  const { q } = queue(db, { settleOnQueue: true, capacity: 3, maxWaiters: 10 });
  const outcomes = [];
  for (const key of ['a', 'b', 'c']) outcomes.push(await q.push({ key, v: 1 }));
  assert.deepEqual(outcomes, ['queued', 'queued', 'queued']);
  assert.equal(db.committed.length, 0, 'resolved before the write');
  let fourth: PushOutcome | undefined;
  const p = q.push({ key: 'd', v: 1 }).then((o) => (fourth = o));
  await new Promise((r) => setImmediate(r));
  assert.equal(fourth, undefined, 'full: waits for the writer');
  await q.flush();
  await p;
  assert.equal(fourth, 'queued');
  await q.flush();
  assert.deepEqual(db.statements, [3, 1], 'one statement for the three pushed one by one');
});
