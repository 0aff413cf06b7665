import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, gte, or, sql, type SQL } from 'drizzle-orm';
import type { AuditEntry } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { iso } from '../http/iso.js';

export interface AuditRow {
  actorId: string | null;
  actor: string;
  action: string;
  targetType: string;
  target: string;
  result: 'ok' | 'error';
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  since?: Date;
  actor?: string;
  target?: string;
  limit: number;
}

/** The audit_log table: append-only writes and filtered reads, newest first. */
@Injectable()
export class AuditRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async insert(row: AuditRow): Promise<void> {
    await this.db.insert(auditLog).values(row);
  }

  async list(f: AuditFilter): Promise<AuditEntry[]> {
    const where: SQL[] = [];
    if (f.since) where.push(gte(auditLog.at, f.since));
    if (f.actor) where.push(eq(auditLog.actor, f.actor));
    // A target is recorded by id; its name (device, user) is in the detail, so either finds it.
    if (f.target) where.push(or(eq(auditLog.target, f.target), sql`${auditLog.detail}->>'name' = ${f.target}`)!);
    const rows = await this.db
      .select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.at), desc(auditLog.id))
      .limit(f.limit);
    return rows.map((r) => ({
      id: r.id,
      at: iso(r.at),
      actor: r.actor,
      action: r.action,
      targetType: r.targetType,
      target: r.target,
      result: r.result,
      detail: r.detail,
    }));
  }
}
