import { relativeTime } from './duration.js';
import type { AppSummary, ApplyAppResult, PlanEntry, Release } from './schemas.js';
import { renderTable } from './table.js';

/** Output of `pifleet apps ...` for people; `--json` prints the hub's objects instead. */

export function planTable(plan: readonly PlanEntry[]): string {
  if (plan.length === 0) return 'No devices affected.\n';
  return renderTable(
    ['DEVICE', 'APP', 'SERVICE', 'CHANGE', 'FIELDS'],
    plan.map((p) => [p.device, p.app, p.service, p.change, (p.fields ?? []).join(',')]),
  );
}

/** `2 to create, 1 to recreate, 3 unchanged` (kinds with no entry left out). */
export function planCounts(plan: readonly PlanEntry[]): string {
  const order: PlanEntry['change'][] = ['create', 'recreate', 'remove', 'unchanged'];
  const parts = order
    .map((c) => [c, plan.filter((p) => p.change === c).length] as const)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => (c === 'unchanged' ? `${n} unchanged` : `${n} to ${c}`));
  return parts.length === 0 ? 'nothing to do' : parts.join(', ');
}

/** `fleet default` or `device pi-1 (fleet default)`: where a release applies. */
export function scope(r: Pick<Release, 'fleet' | 'device'>): string {
  return r.device === null ? `fleet ${r.fleet}` : `device ${r.device} (fleet ${r.fleet})`;
}

/**
 * The last line of apply, rollback and rm: what the hub did, or for a dry run that it did nothing.
 * `what` names what the operator asked for (`Applied`, `Rolled back to 3`).
 */
export function resultLine(r: ApplyAppResult, what: string): string {
  const counts = planCounts(r.plan);
  if (r.dryRun || r.release === undefined) {
    return `Dry run: nothing was changed and no release was created (the plan: ${counts}).\n`;
  }
  return `${what}: release ${r.release.number} of ${r.app} for ${scope(r.release)} (${counts}).\n`;
}

export function appsTable(apps: readonly AppSummary[], now: Date): string {
  return renderTable(
    ['NAME', 'FLEET', 'RELEASE', 'SERVICES', 'OVERRIDES', 'UPDATED'],
    apps.map((a) => [a.name, a.fleet, a.release === null ? 'removed' : String(a.release), a.services.join(','), a.overrides.join(','), relativeTime(a.updatedAt, now)]),
  );
}

export function releasesTable(releases: readonly Release[], now: Date): string {
  return renderTable(
    ['RELEASE', 'SCOPE', 'CURRENT', 'NOTE', 'BY', 'CREATED'],
    releases.map((r) => [
      String(r.number),
      r.device === null ? 'fleet' : `device ${r.device}`,
      r.current ? '*' : '',
      [r.rollbackOf === null ? '' : `restores ${r.rollbackOf}`, r.removed ? 'removed' : ''].filter((x) => x !== '').join(', '),
      r.createdBy ?? '-',
      relativeTime(r.createdAt, now),
    ]),
  );
}
