import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { positiveInt } from '../arg-parsers.js';
import { parseSince } from '../duration.js';
import { shortIso } from '../history-format.js';
import { AuditEntrySchema, type AuditEntry } from '../schemas.js';
import { authedClient, type Io } from '../session.js';
import { renderTable } from '../table.js';

interface AuditOptions {
  hub?: string;
  json?: boolean;
  since?: string;
  actor?: string;
  target?: string;
  limit?: number;
}

/** Longest DETAIL cell; --json has all of it. */
const MAX_DETAIL_CHARS = 100;

/** `release=3 app=web`: the detail object as key=value pairs, objects as compact JSON. */
export function detailText(detail: Record<string, unknown>): string {
  const text = Object.entries(detail)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const chars = [...text];
  return chars.length <= MAX_DETAIL_CHARS ? text : chars.slice(0, MAX_DETAIL_CHARS - 1).join('') + '…';
}

export function auditTable(entries: readonly AuditEntry[]): string {
  return renderTable(
    ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'RESULT', 'DETAIL'],
    entries.map((e) => [shortIso(e.at), e.actor, e.action, `${e.targetType}:${e.target}`, e.result, detailText(e.detail)]),
  );
}

export function registerAudit(program: Command, io: Io): void {
  program
    .command('audit')
    .summary('who changed what, newest first (admin)')
    .description(
      'The audit log: every change made through the hub (applies, rollbacks, service actions, image ' +
        'uploads, ...), newest first: TIME (UTC), ACTOR, ACTION, TARGET, RESULT, DETAIL. Admin role ' +
        'required. --json prints the AuditEntry array {id, at, actor, action, targetType, target, result, detail}.',
    )
    .option('--since <when>', 'only entries after this: a duration back from now (30m, 1h, 7d) or an ISO 8601 time', (v: string) => {
      try {
        return parseSince(v, io.now());
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .option('--actor <user>', 'only entries by this user')
    .option('--target <target>', 'only entries about this target (device, app, image, ...)')
    .option('--limit <n>', 'at most this many entries (hub default when absent)', positiveInt)
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet audit --since 1h\n  pifleet audit --actor alice --since 2025-01-31T00:00:00Z --json')
    .action(async (_o: AuditOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AuditOptions>();
      const query = new URLSearchParams();
      if (opts.since !== undefined) query.set('since', opts.since);
      if (opts.actor !== undefined) query.set('actor', opts.actor);
      if (opts.target !== undefined) query.set('target', opts.target);
      if (opts.limit !== undefined) query.set('limit', String(opts.limit));
      const qs = query.toString();
      const client = await authedClient(io, opts.hub);
      const entries = await client.request('GET', `/api/audit${qs ? `?${qs}` : ''}`, z.array(AuditEntrySchema));
      if (opts.json) io.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      else if (entries.length === 0) io.stdout.write('No audit entries.\n');
      else io.stdout.write(auditTable(entries));
    });
}
