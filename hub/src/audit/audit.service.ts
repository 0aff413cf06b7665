import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Caller } from '../auth/roles.decorator.js';
import { DomainError } from '../common/errors.js';
import { loggable } from '../common/global-exception.filter.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { AuditRepository, type AuditFilter } from './audit.repository.js';
import type { AuditEntry } from '../contract.js';

/** Who acted: a user (id null when the name matches no user, e.g. a failed login) or the hub itself. */
export type AuditActor = { id: string | null; username: string } | 'system';

export interface AuditRecord {
  /** An AuditActor, or the authenticated Caller of a request as is. */
  actor: AuditActor | Caller;
  /** Dotted verb, e.g. `app.apply`, `device.revoke`, `auth.login`. */
  action: string;
  targetType: string;
  target: string;
  result: 'ok' | 'error';
  detail?: Record<string, unknown>;
}

/** What a successful action adds to its row: the id a name resolved to, what it created, who it turned out to be. */
export interface AuditOutcome {
  actor?: AuditActor | Caller;
  target?: string;
  detail?: Record<string, unknown>;
}

/** Longest detail kept (as JSON); beyond it only the keys are kept, so one row stays small. */
const MAX_DETAIL_CHARS = 16_384;

export function actorOf(caller: Caller | AuditActor): AuditActor {
  if (caller === 'system' || !('userId' in caller)) return caller;
  return { id: caller.userId, username: caller.username };
}

/** The part of a failure worth keeping in the audit log: its stable code and message. */
export function errorDetail(err: unknown): { error: string; message: string } {
  if (err instanceof DomainError) return { error: err.code, message: err.message.slice(0, 500) };
  return { error: 'internal', message: 'internal error' };
}

/**
 * The audit log: one row per operator action, whatever its outcome. Writing it never decides the
 * outcome of the action itself: a failed write is logged and counted
 * (`pifleet_audit_write_failures_total`), and the caller carries on with its answer.
 */
@Injectable()
export class AuditService {
  private readonly failures;
  private readonly written;

  constructor(
    private readonly repo: AuditRepository,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.failures = metrics.counter('pifleet_audit_write_failures_total', 'Audit rows that could not be written (the action itself went on)');
    this.written = metrics.counter('pifleet_audit_rows_total', 'Audit rows written, by result', ['result']);
  }

  /** Writes one row; never rejects. */
  async record(r: AuditRecord): Promise<void> {
    const a = actorOf(r.actor);
    const actor = a === 'system' ? { id: null, username: 'system' } : a;
    try {
      await this.repo.insert({
        actorId: actor.id,
        actor: actor.username,
        action: r.action,
        targetType: r.targetType,
        target: r.target,
        result: r.result,
        detail: bounded(r.detail ?? {}),
      });
      this.written.inc({ result: r.result });
    } catch (err) {
      this.failures.inc();
      this.log.error({ err: loggable(err), action: r.action, targetType: r.targetType, target: r.target }, 'audit row not written');
    }
  }

  /**
   * Runs an action and records it: `ok` with `onOk`'s target and detail (the id a name resolved
   * to, what was created), or `error` with the failure's code, which is then rethrown unchanged.
   */
  async track<T>(
    base: Omit<AuditRecord, 'result'>,
    action: () => Promise<T>,
    onOk?: (result: T) => AuditOutcome,
  ): Promise<T> {
    let result: T;
    try {
      result = await action();
    } catch (err) {
      await this.record({ ...base, result: 'error', detail: { ...base.detail, ...errorDetail(err) } });
      throw err;
    }
    let extra: AuditOutcome = {};
    try {
      extra = onOk?.(result) ?? {};
    } catch (err) {
      this.log.error({ err }, 'audit detail could not be built');
    }
    await this.record({
      ...base,
      actor: extra.actor ?? base.actor,
      target: extra.target ?? base.target,
      detail: { ...base.detail, ...extra.detail },
      result: 'ok',
    });
    return result;
  }

  list(f: AuditFilter): Promise<AuditEntry[]> {
    return this.repo.list(f);
  }
}

function bounded(detail: Record<string, unknown>): Record<string, unknown> {
  let json: string;
  try {
    json = JSON.stringify(detail);
  } catch {
    return { unserializable: true };
  }
  if (json.length <= MAX_DETAIL_CHARS) return detail;
  return { truncated: true, keys: Object.keys(detail).slice(0, 50) };
}
