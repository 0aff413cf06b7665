import { formatElapsed, relativeTime } from './duration.js';
import type { DeviceContainers, ServiceRecord } from './schemas.js';
import { renderTable, sanitize } from './table.js';

/**
 * How `pifleet ps` (and the answer of `service <action>`) shows a device's containers: one
 * header line for the device as a whole, then one row per service.
 */

/** Only these states have a container run whose age is worth showing. */
const RUNNING_STATES = new Set(['STARTING', 'RUNNING', 'UNHEALTHY']);

/** Longest message shown in the NOTES column; `--json` has the whole text. */
const MAX_NOTE_CHARS = 80;

/**
 * `kitchen (online)  desired v7  reported v7  applied v6 (applying)  engine up  reported 5s ago`,
 * and a second line for an apply error.
 */
export function containersHeader(c: DeviceContainers, now: Date): string {
  const v = (n: number | null): string => (n === null ? '-' : `v${n}`);
  const parts = [`${c.device} (${c.online ? 'online' : 'offline'})`, `desired ${v(c.desiredVersion)}`, `reported ${v(c.reportedVersion)}`];
  const applying = c.appliedVersion === null || c.appliedVersion < c.desiredVersion;
  parts.push(`applied ${v(c.appliedVersion)}${applying && c.reportedVersion !== null ? ' (applying)' : ''}`);
  parts.push(`engine ${c.engine ?? '-'}`);
  parts.push(c.reportedAt === null ? 'never reported' : `reported ${relativeTime(c.reportedAt, now)}`);
  let out = sanitize(parts.join('  ')) + '\n';
  if (c.error !== null) {
    const where = c.error.app === undefined ? '' : ` in ${c.error.app}${c.error.service === undefined ? '' : `/${c.error.service}`}`;
    out += sanitize(`error: ${c.error.code}${where}: ${c.error.message} (${relativeTime(c.error.at, now)})`) + '\n';
  }
  return out;
}

/** What the STATE column says: UNKNOWN for an offline device, whatever it said last. */
export function stateWord(s: ServiceRecord, online: boolean): string {
  return online ? s.state : 'UNKNOWN';
}

/** `137 (OOM)`, `1`, or `-` when the service never exited. */
export function lastExit(s: Pick<ServiceRecord, 'exitCode' | 'oomKilled'>): string {
  if (s.exitCode === null) return s.oomKilled ? 'OOM' : '-';
  return s.oomKilled ? `${s.exitCode} (OOM)` : String(s.exitCode);
}

export function uptime(s: ServiceRecord, online: boolean, now: Date): string {
  if (!online || s.startedAt === null || !RUNNING_STATES.has(s.state)) return '-';
  const t = Date.parse(s.startedAt);
  return Number.isNaN(t) ? '-' : formatElapsed(now.getTime() - t);
}

/** What an operator should know beyond the state: their own stop or pause, the crash loop, the next try. */
export function notes(s: ServiceRecord, online: boolean, now: Date): string {
  const out: string[] = [];
  if (!online && s.reportedState !== null) out.push(`last reported ${s.reportedState}`);
  if (s.stopped) out.push('stopped by operator');
  if (s.crashLoop) out.push('crash loop');
  if (s.pausedUntil !== null && Date.parse(s.pausedUntil) > now.getTime()) out.push(`restarts paused ${relativeTime(s.pausedUntil, now)}`);
  if (s.nextStartAt !== null && online && s.state === 'BACKOFF') out.push(`next start ${relativeTime(s.nextStartAt, now)}`);
  if (s.pull !== null && s.pull.total > 0) out.push(`pulling ${Math.floor((100 * s.pull.done) / s.pull.total)}%`);
  if (s.message !== null && s.message !== '') out.push(truncate(s.message.replace(/\s+/g, ' '), MAX_NOTE_CHARS));
  return out.join('; ');
}

export function servicesTable(services: readonly ServiceRecord[], online: boolean, now: Date): string {
  return renderTable(
    ['APP', 'SERVICE', 'STATE', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'HEALTH', 'NOTES'],
    services.map((s) => [s.app, s.service, stateWord(s, online), uptime(s, online, now), String(s.restarts), lastExit(s), s.health ?? '-', notes(s, online, now)]),
  );
}

/** The whole `ps` output. */
export function containersView(c: DeviceContainers, now: Date): string {
  const body = c.services.length === 0 ? 'No services.\n' : servicesTable(c.services, c.online, now);
  return containersHeader(c, now) + '\n' + body;
}

function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}
