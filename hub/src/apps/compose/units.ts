/**
 * Compose's units: durations (`1m30s`, `10s`, `500ms`, `1.5h`, `2d`; Go's time.ParseDuration
 * plus days and weeks, as Compose reads them) and byte sizes (`512m`, `1g`, `1.5GiB`, a plain
 * number of bytes; powers of 1024, as Docker reads them).
 */
export type UnitResult = { ok: true; value: number } | { ok: false; message: string };

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)/y;

/** A duration in milliseconds (possibly fractional). */
export function parseDuration(text: string): UnitResult {
  const s = text.trim();
  if (s === '0') return { ok: true, value: 0 };
  if (s === '') return { ok: false, message: 'empty duration' };
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) return { ok: false, message: `duration ${JSON.stringify(text)} needs a unit, e.g. ${s}s` };
  if (s.startsWith('-')) return { ok: false, message: `duration ${JSON.stringify(text)} is negative` };
  let total = 0;
  let at = s.startsWith('+') ? 1 : 0;
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (!m) return { ok: false, message: `invalid duration ${JSON.stringify(text)} (write e.g. 1m30s, 10s or 500ms)` };
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]];
    at = DURATION_PART.lastIndex;
  }
  return { ok: true, value: total };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A size in bytes (whole). */
export function parseBytes(text: string): UnitResult {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!m) {
    return { ok: false, message: `invalid size ${JSON.stringify(text)} (write e.g. 512m, 1g or a number of bytes)` };
  }
  const value = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(value)) return { ok: false, message: `size ${JSON.stringify(text)} is too large` };
  return { ok: true, value };
}
