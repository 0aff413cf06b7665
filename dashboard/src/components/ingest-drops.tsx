/**
 * What the hub refused from this device (bad values, floods, invalid messages), so an operator
 * can see a misbehaving agent instead of guessing at gaps in its charts. Shown only when there is
 * something to show; refetched every 30 s, as tallies are flushed every 10 s.
 */
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import { dateTime } from '../format';
import type { IngestDrop } from '../types';

/** Plain words for the reasons the hub uses. */
const REASONS: Record<string, string> = {
  range: 'value out of range (stored as empty)',
  too_old: 'sample older than retention',
  future: 'sample dated in the future (clock?)',
  duplicate: 'repeated sample time',
  invalid: 'invalid message',
  'not-json': 'not JSON',
  oversized: 'message too large',
  rate_messages: 'over its message rate',
  rate_bytes: 'over its byte rate',
  rate_rows: 'over its sample rate',
  buffer_full: 'hub write buffer full',
  db_rejected: 'refused by the database',
  rollup_rejected: 'minute not aggregated',
  retained_count: 'too many retained messages',
  retained_bytes: 'retained messages too large',
  overload: 'hub overloaded',
};

export function IngestDrops({ deviceId }: { deviceId: string }) {
  const [drops, setDrops] = useState<IngestDrop[]>([]);
  useEffect(() => {
    const ctrl = new AbortController();
    const load = () => api.drops(deviceId, ctrl.signal).then(setDrops, () => undefined);
    void load();
    const timer = setInterval(() => void load(), 30_000);
    return () => {
      ctrl.abort();
      clearInterval(timer);
    };
  }, [deviceId]);
  if (drops.length === 0) return null;
  return (
    <section className="panel drops" data-testid="ingest-drops">
      <h2>Refused input</h2>
      <table>
        <thead>
          <tr>
            <th>Stream</th>
            <th>Reason</th>
            <th>Count</th>
            <th>Last</th>
          </tr>
        </thead>
        <tbody>
          {drops.map((d) => (
            <tr key={`${d.stream}/${d.reason}`}>
              <td>{d.stream}</td>
              <td>{REASONS[d.reason] ?? d.reason}</td>
              <td>{d.count.toLocaleString()}</td>
              <td>{dateTime(d.lastAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
