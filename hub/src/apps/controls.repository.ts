import { Inject, Injectable } from '@nestjs/common';
import { inArray, sql } from 'drizzle-orm';
import type { ServiceAction } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { serviceControls } from '../db/schema.js';
import type { ControlRow } from './desired-compute.js';

const t = serviceControls;

/** What each action sets; counters grow in the statement itself, so concurrent actions both count. */
function change(action: ServiceAction, pausedUntil: Date | null) {
  switch (action) {
    case 'stop':
      return { stopped: true };
    case 'start':
      return { stopped: false, pausedUntil: null };
    case 'restart':
      return { restartSeq: sql`${t.restartSeq} + 1` };
    case 'reset':
      return { resetSeq: sql`${t.resetSeq} + 1` };
    case 'pause':
      return { pausedUntil };
    case 'resume':
      return { pausedUntil: null };
  }
}

/** The values a service's first row starts with when its first action is this one. */
function initial(action: ServiceAction, pausedUntil: Date | null) {
  return {
    stopped: action === 'stop',
    pausedUntil: action === 'pause' ? pausedUntil : null,
    restartSeq: action === 'restart' ? 1 : 0,
    resetSeq: action === 'reset' ? 1 : 0,
  };
}

/** Operator controls per device service (service_controls). */
@Injectable()
export class ControlsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async apply(deviceId: string, targets: { app: string; service: string }[], action: ServiceAction, pausedUntil: Date | null): Promise<void> {
    if (targets.length === 0) return;
    await this.db
      .insert(t)
      .values(targets.map((s) => ({ deviceId, app: s.app, service: s.service, ...initial(action, pausedUntil) })))
      .onConflictDoUpdate({ target: [t.deviceId, t.app, t.service], set: { ...change(action, pausedUntil), updatedAt: sql`now()` } });
  }

  async forDevices(ids: string[], db: Db = this.db): Promise<Map<string, ControlRow[]>> {
    const out = new Map<string, ControlRow[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await db.select().from(t).where(inArray(t.deviceId, ids));
    for (const r of rows) {
      out.get(r.deviceId)!.push({ app: r.app, service: r.service, stopped: r.stopped, pausedUntil: r.pausedUntil, restartSeq: r.restartSeq, resetSeq: r.resetSeq });
    }
    return out;
  }
}
