import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { sql } from 'drizzle-orm';
// Hub internals under test (the hub package exports only its app entry point).
import { openDatabase, type DbHandle } from '../../../hub/dist/db/client.js';
import { TelemetryRepository } from '../../../hub/dist/telemetry/telemetry.repository.js';
import type { RawRow } from '../../../hub/dist/telemetry/telemetry-units.js';
import { writeIsolating } from '../../../hub/dist/ingest/isolating-write.js';
import { classifyWriteError } from '../../../hub/dist/db/errors.js';
import { createTestDatabase } from '../support/postgres.js';

const D = 'ddddddddddd1';
const MIN = 60_000;

function row(ts: number, cpu: number, netRx: number): RawRow {
  return {
    deviceId: D, ts: new Date(ts), cpu, load1: 1, load5: 1, load15: 1, memUsed: 100, memTotal: 1000, diskUsed: 10,
    diskTotal: 100, temp: cpu / 2, throttled: cpu > 50 ? 4 : 1, netRx, netTx: 1, uptime: ts / 1000, agentRss: 1, agentCpu: 1,
  };
}

/** Same SQL on both drivers: rollup (idempotent, late data recomputed), retention, history, latest. */
async function scenario(h: DbHandle): Promise<void> {
  const repo = new TelemetryRepository(h.db);
  const now = Math.floor(Date.now() / MIN) * MIN; // a minute boundary
  const m1 = now - 3 * MIN;
  await repo.insertRaw([row(m1, 10, 100), row(m1 + 10_000, 30, 200), row(m1 + MIN, 80, 50)]);
  await repo.insertRaw([row(m1, 99, 999)]); // redelivery: ignored
  await repo.rollup(new Date(m1), new Date(now));
  let mins = await repo.minutes(D, new Date(m1), new Date(now), 100);
  assert.equal(mins.length, 2);
  assert.equal(mins[0]!.cpu, 20);
  assert.equal(mins[0]!.netRx, 300); // bytes summed over the minute
  assert.equal(mins[0]!.throttled, 1);
  assert.equal(mins[1]!.throttled, 4);
  const res = await h.db.execute(sql`SELECT samples, cpu_max, temp_max FROM telemetry_1m ORDER BY minute LIMIT 1`);
  const first = (res as unknown as { rows: Record<string, unknown>[] }).rows[0]!;
  assert.equal(Number(first['samples']), 2);
  assert.equal(Number(first['cpu_max']), 30);
  assert.equal(Number(first['temp_max']), 15);
  // Late data for an already rolled-up minute: a re-run recomputes it (ON CONFLICT DO UPDATE).
  await repo.insertRaw([row(m1 + 20_000, 50, 300)]);
  await repo.rollup(new Date(m1), new Date(now));
  mins = await repo.minutes(D, new Date(m1), new Date(now), 100);
  assert.equal(mins.length, 2);
  assert.equal(mins[0]!.cpu, 30);
  assert.equal(mins[0]!.netRx, 600);

  await repo.setWatermark(new Date(now));
  assert.equal((await repo.watermark())?.getTime(), now);
  await repo.setWatermark(new Date(now + MIN));
  assert.equal((await repo.watermark())?.getTime(), now + MIN);

  const latest = await repo.latest([D, 'nobodynobody']);
  assert.equal(latest.length, 1);
  assert.equal(latest[0]!.ts.getTime(), m1 + MIN);
  assert.equal(latest[0]!.cpu, 80);

  const raw = await repo.raw(D, new Date(m1), new Date(now), 2);
  assert.deepEqual(
    raw.map((r) => r.ts.getTime()),
    [m1 + 20_000, m1 + MIN],
  ); // the newest points, oldest first

  // Retention: raw older than the cut-off and rollups older than theirs go; the rest stays.
  await repo.deleteOlder(new Date(m1 + 15_000), new Date(m1 + 1));
  assert.equal((await repo.raw(D, new Date(0), new Date(now), 100)).length, 2);
  assert.equal((await repo.minutes(D, new Date(0), new Date(now), 100)).length, 1);
}

/**
 * The ingest write path: rows the database refuses for their data (here an int4 overflow, which
 * the edge would now stop, and a NUL in jsonb) are isolated and dropped, all others are written;
 * an outage hands every unwritten row back for a later retry.
 */
async function isolation(h: DbHandle): Promise<void> {
  const repo = new TelemetryRepository(h.db);
  const base = Date.now() - 10 * MIN;
  const batch = Array.from({ length: 500 }, (_, i) => row(base + i * 1000, 10, 1));
  batch[17] = { ...batch[17]!, throttled: 3_000_000_000 };
  batch[401] = { ...batch[401]!, throttled: 2 ** 40 };
  const rejected: RawRow[] = [];
  const r = await writeIsolating(batch, (rows) => repo.insertRaw(rows), (bad, err) => {
    assert.equal(classifyWriteError(err), 'data');
    rejected.push(bad);
  });
  assert.deepEqual(r, { written: 498, rejected: 2 });
  assert.deepEqual(rejected.map((x) => x.ts.getTime()), [base + 17_000, base + 401_000]);
  assert.equal((await repo.raw(D, new Date(base - 1), new Date(base + 600_000), 1000)).length, 498);

  // jsonb refuses NUL: the same classification for a presence-style write.
  const nul = await h.db.execute(sql`SELECT ${JSON.stringify({ h: 'a\u0000b' })}::jsonb`).catch((e: unknown) => e);
  assert.equal(classifyWriteError(nul), 'data');

  // An outage is not a data error: nothing is dropped, everything comes back.
  await h.close();
  const dropped: RawRow[] = [];
  const out = await writeIsolating(batch.slice(0, 10), (rows) => repo.insertRaw(rows), (bad) => dropped.push(bad));
  assert.equal(out.written, 0);
  assert.equal(out.unwritten?.length, 10);
  assert.equal(dropped.length, 0);
}

test('poisoned rows are isolated and an outage keeps every row, on PGlite', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-tel-'));
  const h = await openDatabase({ dataDir: dir });
  try {
    await isolation(h);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('poisoned rows are isolated and an outage keeps every row, on a real PostgreSQL', { timeout: 120_000 }, async (t: TestContext) => {
  const db = await createTestDatabase(t);
  if (!db) return;
  const h = await openDatabase({ databaseUrl: db.url, dataDir: tmpdir() });
  try {
    await isolation(h);
  } finally {
    await db.drop();
  }
});

test('telemetry rollup and retention on PGlite', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-tel-'));
  const h = await openDatabase({ dataDir: dir });
  try {
    await scenario(h);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('telemetry rollup and retention on a real PostgreSQL', { timeout: 120_000 }, async (t: TestContext) => {
  const db = await createTestDatabase(t);
  if (!db) return;
  const h = await openDatabase({ databaseUrl: db.url, dataDir: tmpdir() });
  try {
    await scenario(h);
  } finally {
    await h.close();
    await db.drop();
  }
});
