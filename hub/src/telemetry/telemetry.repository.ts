import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, gte, lte, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { settings, telemetry1m, telemetryRaw } from '../db/schema.js';
import { classifyWriteError } from '../db/errors.js';
import type { RawRow } from './telemetry-units.js';

const WATERMARK_KEY = 'telemetry.rollup_watermark';

const RAW_COLUMNS = {
  ts: telemetryRaw.ts,
  cpu: telemetryRaw.cpu,
  load1: telemetryRaw.load1,
  load5: telemetryRaw.load5,
  load15: telemetryRaw.load15,
  memUsed: telemetryRaw.memUsed,
  memTotal: telemetryRaw.memTotal,
  diskUsed: telemetryRaw.diskUsed,
  diskTotal: telemetryRaw.diskTotal,
  temp: telemetryRaw.temp,
  throttled: telemetryRaw.throttled,
  netRx: telemetryRaw.netRx,
  netTx: telemetryRaw.netTx,
  uptime: telemetryRaw.uptime,
  agentRss: telemetryRaw.agentRss,
  agentCpu: telemetryRaw.agentCpu,
};

/** Largest finite float8, for clamping aggregates computed in numeric. */
const FLOAT8_MAX = '1.7976931348623157e308';

/** avg/sum over numeric, clamped into float8 (numeric never overflows; the cast back could). */
function agg(fn: 'avg' | 'sum', column: string) {
  return sql.raw(`least(greatest(${fn}(${column}::numeric), -${FLOAT8_MAX}::numeric), ${FLOAT8_MAX}::numeric)::float8`);
}

function rollupSql(from: Date, to: Date, deviceId?: string) {
  return sql`
      INSERT INTO telemetry_1m (device_id, minute, samples, cpu, cpu_max, load1, mem_used, mem_total,
        disk_used, disk_total, temp, temp_max, throttled, net_rx, net_tx, uptime, agent_rss, agent_cpu)
      SELECT device_id, date_trunc('minute', ts), count(*)::int, ${agg('avg', 'cpu')}, max(cpu), ${agg('avg', 'load1')},
        ${agg('avg', 'mem_used')}, max(mem_total), ${agg('avg', 'disk_used')}, max(disk_total), ${agg('avg', 'temp')}, max(temp),
        bit_or(throttled), ${agg('sum', 'net_rx')}, ${agg('sum', 'net_tx')}, max(uptime), ${agg('avg', 'agent_rss')}, ${agg('avg', 'agent_cpu')}
      FROM telemetry_raw
      WHERE ts >= ${from.toISOString()}::timestamptz AND ts < ${to.toISOString()}::timestamptz
        ${deviceId === undefined ? sql`` : sql`AND device_id = ${deviceId}`}
      GROUP BY device_id, date_trunc('minute', ts)
      ON CONFLICT (device_id, minute) DO UPDATE SET
        samples = excluded.samples, cpu = excluded.cpu, cpu_max = excluded.cpu_max,
        load1 = excluded.load1, mem_used = excluded.mem_used, mem_total = excluded.mem_total,
        disk_used = excluded.disk_used, disk_total = excluded.disk_total, temp = excluded.temp,
        temp_max = excluded.temp_max, throttled = excluded.throttled, net_rx = excluded.net_rx,
        net_tx = excluded.net_tx, uptime = excluded.uptime, agent_rss = excluded.agent_rss,
        agent_cpu = excluded.agent_cpu`;
}

export type StoredPoint = Omit<RawRow, 'deviceId' | 'load5' | 'load15'> & { load5?: number | null; load15?: number | null };

/**
 * telemetry_raw / telemetry_1m. Plain SQL that runs unchanged on PGlite and PostgreSQL; every write
 * is idempotent (ON CONFLICT), so redelivered batches and re-run rollups are harmless.
 */
@Injectable()
export class TelemetryRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async insertRaw(rows: RawRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insert(telemetryRaw).values(rows).onConflictDoNothing();
  }

  /**
   * (Re)computes the 1-minute rollups of every minute starting in [from, to). Returns the
   * devices whose rows the database refused to aggregate (isolated: everyone else's minutes
   * are written). Averages and sums are computed in numeric and clamped into float8's range,
   * so no stored value (even one written before the edge checked ranges) can overflow them.
   */
  async rollup(from: Date, to: Date): Promise<{ deviceId: string; err: unknown }[]> {
    try {
      await this.db.execute(rollupSql(from, to));
      return [];
    } catch (err) {
      if (classifyWriteError(err) !== 'data') throw err;
    }
    const refused: { deviceId: string; err: unknown }[] = [];
    const res = await this.db.execute(sql`
      SELECT DISTINCT device_id FROM telemetry_raw
      WHERE ts >= ${from.toISOString()}::timestamptz AND ts < ${to.toISOString()}::timestamptz`);
    for (const r of (res as unknown as { rows: { device_id: string }[] }).rows) {
      try {
        await this.db.execute(rollupSql(from, to, r.device_id));
      } catch (err) {
        if (classifyWriteError(err) !== 'data') throw err;
        refused.push({ deviceId: r.device_id, err });
      }
    }
    return refused;
  }

  async deleteOlder(rawBefore: Date, rollupBefore: Date): Promise<void> {
    await this.db.execute(sql`DELETE FROM telemetry_raw WHERE ts < ${rawBefore.toISOString()}::timestamptz`);
    await this.db.execute(sql`DELETE FROM telemetry_1m WHERE minute < ${rollupBefore.toISOString()}::timestamptz`);
  }

  async watermark(): Promise<Date | undefined> {
    const [row] = await this.db.select({ value: settings.value }).from(settings).where(eq(settings.key, WATERMARK_KEY));
    const iso = (row?.value as { ts?: string } | undefined)?.ts;
    return iso ? new Date(iso) : undefined;
  }

  async setWatermark(at: Date): Promise<void> {
    const value = { ts: at.toISOString() };
    await this.db.insert(settings).values({ key: WATERMARK_KEY, value }).onConflictDoUpdate({ target: settings.key, set: { value } });
  }

  /** Newest `limit` raw points in [from, to], oldest first. */
  async raw(deviceId: string, from: Date, to: Date, limit: number): Promise<StoredPoint[]> {
    const rows = await this.db
      .select(RAW_COLUMNS)
      .from(telemetryRaw)
      .where(and(eq(telemetryRaw.deviceId, deviceId), gte(telemetryRaw.ts, from), lte(telemetryRaw.ts, to)))
      .orderBy(desc(telemetryRaw.ts))
      .limit(limit);
    return rows.reverse();
  }

  /** Newest `limit` rollups in [from, to], oldest first; net bytes are per minute. */
  async minutes(deviceId: string, from: Date, to: Date, limit: number): Promise<StoredPoint[]> {
    const t = telemetry1m;
    const rows = await this.db
      .select({
        ts: t.minute,
        cpu: t.cpu,
        load1: t.load1,
        memUsed: t.memUsed,
        memTotal: t.memTotal,
        diskUsed: t.diskUsed,
        diskTotal: t.diskTotal,
        temp: t.temp,
        throttled: t.throttled,
        netRx: t.netRx,
        netTx: t.netTx,
        uptime: t.uptime,
        agentRss: t.agentRss,
        agentCpu: t.agentCpu,
      })
      .from(t)
      .where(and(eq(t.deviceId, deviceId), gte(t.minute, from), lte(t.minute, to)))
      .orderBy(desc(t.minute))
      .limit(limit);
    return rows.reverse();
  }

  /**
   * Newest raw point per device. One index-backed lookup per device (LATERAL + LIMIT 1 walks the
   * (device_id, ts) primary key backwards) instead of DISTINCT ON over a day of samples per device.
   */
  async latest(deviceIds: string[]): Promise<(StoredPoint & { deviceId: string })[]> {
    if (deviceIds.length === 0) return [];
    const ids = sql.join(
      deviceIds.map((id) => sql`(${id})`),
      sql`, `,
    );
    const res = await this.db.execute(sql`
      SELECT d.id AS device_id, r.ts, r.cpu, r.load1, r.load5, r.load15, r.mem_used, r.mem_total,
        r.disk_used, r.disk_total, r.temp, r.throttled, r.net_rx, r.net_tx, r.uptime, r.agent_rss, r.agent_cpu
      FROM (VALUES ${ids}) AS d(id)
      CROSS JOIN LATERAL (
        SELECT * FROM telemetry_raw t WHERE t.device_id = d.id ORDER BY t.ts DESC LIMIT 1
      ) r`);
    const rows = (res as unknown as { rows: Record<string, unknown>[] }).rows;
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => ({
      deviceId: String(r['device_id']),
      ts: new Date(r['ts'] as string | Date),
      cpu: num(r['cpu']),
      load1: num(r['load1']),
      load5: num(r['load5']),
      load15: num(r['load15']),
      memUsed: num(r['mem_used']),
      memTotal: num(r['mem_total']),
      diskUsed: num(r['disk_used']),
      diskTotal: num(r['disk_total']),
      temp: num(r['temp']),
      throttled: num(r['throttled']),
      netRx: num(r['net_rx']),
      netTx: num(r['net_tx']),
      uptime: num(r['uptime']),
      agentRss: num(r['agent_rss']),
      agentCpu: num(r['agent_cpu']),
    }));
  }
}
