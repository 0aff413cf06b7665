import { formatElapsed } from './duration.js';
import { lastExit } from './containers-format.js';
import type { ServiceEvent } from './schemas.js';
import { renderTable, sanitize } from './table.js';

/** `pifleet service history`: one row per transition, newest first as the hub sends them. */

/** `2025-01-31 12:00:03Z`: to the second, UTC, so it lines up with logs from anywhere. */
export function shortIso(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function note(e: ServiceEvent): string {
  const out: string[] = [];
  if (e.crashLoop) out.push('crash loop');
  if (e.delayMs !== null) out.push(`next start in ${formatElapsed(e.delayMs)}`);
  if (e.message !== null && e.message !== '') out.push(e.message.replace(/\s+/g, ' '));
  return out.join('; ');
}

/** With `verbose`, each event's log tail follows its row, indented and marked with `|`. */
export function historyTable(events: readonly ServiceEvent[], verbose: boolean): string {
  const table = renderTable(
    ['TIME', 'CHANGE', 'REASON', 'EXIT', 'RUN', 'RESTARTS', 'NOTE'],
    events.map((e) => [
      shortIso(e.at),
      `${e.from} -> ${e.to}`,
      e.reason,
      lastExit(e),
      e.runMs === null ? '-' : formatElapsed(e.runMs),
      e.restarts === null ? '-' : String(e.restarts),
      note(e),
    ]),
  );
  if (!verbose) return table;
  const [header, ...rows] = table.trimEnd().split('\n');
  const out = [header];
  rows.forEach((row, i) => {
    out.push(row);
    for (const line of events[i]?.logTail ?? []) out.push(`    | ${sanitize(line)}`.trimEnd());
  });
  return out.join('\n') + '\n';
}
