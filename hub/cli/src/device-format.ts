import { relativeTime } from './duration.js';
import type { Device } from './schemas.js';
import { renderFields, renderTable } from './table.js';

/**
 * The `devices --json` element: the six keys promised to scripts, plus `status`
 * ('active' | 'revoked') because a revoked device is otherwise indistinguishable from an
 * offline one. summarize() fixes the key order so output diffs cleanly.
 */
export type DeviceSummary = Pick<Device, 'id' | 'name' | 'fleet' | 'online' | 'lastSeenAt' | 'tags' | 'status'>;

export function summarize(d: Device): DeviceSummary {
  return { id: d.id, name: d.name, fleet: d.fleet, online: d.online, lastSeenAt: d.lastSeenAt, tags: d.tags, status: d.status };
}

/** What the STATUS column shows: revocation trumps presence. */
export function statusWord(d: Pick<Device, 'online' | 'status'>): 'online' | 'offline' | 'revoked' {
  if (d.status === 'revoked') return 'revoked';
  return d.online ? 'online' : 'offline';
}

export function devicesTable(devices: readonly Device[], now: Date): string {
  return renderTable(
    ['NAME', 'ID', 'FLEET', 'STATUS', 'LAST SEEN', 'TAGS'],
    devices.map((d) => [d.name, d.id, d.fleet, statusWord(d), relativeTime(d.lastSeenAt, now), d.tags.join(',')]),
  );
}

export function deviceDetails(d: Device, now: Date): string {
  const seen = d.lastSeenAt === null ? 'never' : `${d.lastSeenAt} (${relativeTime(d.lastSeenAt, now)})`;
  const info = Object.entries(d.info)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return renderFields([
    ['Name', d.name],
    ['ID', d.id],
    ['Fleet', d.fleet],
    ['Status', statusWord(d)],
    ['Last seen', seen],
    ['Enrolled', d.enrolledAt],
    ['Tags', d.tags.length > 0 ? d.tags.join(', ') : '-'],
    ['Info', info === '' ? '-' : info],
  ]);
}
