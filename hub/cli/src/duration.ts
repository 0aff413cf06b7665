/**
 * Durations for `--ttl`: a positive integer followed by a unit, or several of them
 * (`90s`, `30m`, `1h`, `7d`, `1h30m`, `2w`). A bare number is rejected instead of guessing
 * between seconds and hours, since a token that lives 3600 times longer than meant is a
 * security problem.
 */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

const PART = /(\d+)([smhdw])/gy;

/** Returns whole seconds; throws with a message suitable for a usage error. */
export function parseDuration(text: string): number {
  const input = text.trim().toLowerCase();
  if (input === '') throw new Error('empty duration');
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(input); m !== null; m = PART.exec(input)) {
    total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 0);
    consumed = PART.lastIndex;
  }
  if (consumed !== input.length) {
    throw new Error(`invalid duration '${text}' (use e.g. 30m, 1h, 7d, 1h30m)`);
  }
  if (total <= 0) throw new Error(`duration '${text}' must be longer than zero`);
  if (!Number.isSafeInteger(total)) throw new Error(`duration '${text}' is too long`);
  return total;
}

/** Short human rendering of an interval in seconds, the largest unit first: `3h`, `2d`, `45s`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `5m ago`, `just now`, `in 3h` (for expiry times), or `never` when there is no time. */
export function relativeTime(iso: string | null, now: Date): string {
  if (iso === null) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = (now.getTime() - t) / 1000;
  if (Math.abs(diff) < 5) return 'just now';
  return diff > 0 ? `${formatSeconds(diff)} ago` : `in ${formatSeconds(-diff)}`;
}

/**
 * An interval in milliseconds with its two largest units, for uptimes and run lengths where
 * `3h` alone hides too much: `45s`, `5m20s`, `3h12m`, `2d3h`; under a second `0.4s`.
 */
export function formatElapsed(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const two = (big: number, bigUnit: string, small: number, smallUnit: string): string => (small > 0 ? `${big}${bigUnit}${small}${smallUnit}` : `${big}${bigUnit}`);
  if (s < 60) return `${s}s`;
  if (s < 3600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 86_400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}

/**
 * `--since`: a duration back from now (`1h`, `2d`, `1h30m`) or an ISO 8601 time. Returns the ISO
 * time to send; throws with a usage-ready message.
 */
export function parseSince(text: string, now: Date): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isNaN(t)) throw new Error(`invalid time '${text}' (use ISO 8601, e.g. 2025-01-31T12:00:00Z, or a duration such as 1h)`);
    return new Date(t).toISOString();
  }
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch {
    throw new Error(`invalid --since '${text}' (use a duration such as 30m, 1h, 7d, or an ISO 8601 time)`);
  }
  return new Date(now.getTime() - seconds * 1000).toISOString();
}
