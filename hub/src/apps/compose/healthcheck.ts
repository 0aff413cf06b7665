import type { HealthcheckSpec } from '@pifleet/protocol';
import { HEALTHCHECK_FIELDS } from './compose-fields.js';
import { at, child, describe, type Reader } from './reader.js';
import { parseDuration } from './units.js';
import type { YNode } from './yaml-tree.js';

/**
 * `healthcheck:` -> Docker's form. `test: "curl -f http://localhost"` runs through the shell
 * (CMD-SHELL); a list starts with CMD, CMD-SHELL or NONE. `disable: true` or `test: [NONE]`
 * turns off the image's own healthcheck (null). Durations are Compose durations, in ms here.
 */

/** A Compose duration in whole milliseconds, at most `maxMs`. */
export function readDurationMs(r: Reader, node: YNode, path: string, maxMs = 86_400_000): number | undefined {
  const text = r.text(node, path, 'a duration such as 10s');
  if (text === undefined) return undefined;
  const d = parseDuration(text);
  if (!d.ok) {
    r.error(path, node.line, d.message);
    return undefined;
  }
  const ms = Math.round(d.value);
  if (d.value > 0 && ms === 0) {
    r.error(path, node.line, `duration ${text} is shorter than 1ms`);
    return undefined;
  }
  if (ms > maxMs) {
    r.error(path, node.line, `duration ${text} is longer than ${maxMs / 1000}s`);
    return undefined;
  }
  return ms;
}

/** `{ value }` with the spec (null = disabled), or `undefined` after an error. */
export function readHealthcheck(r: Reader, node: YNode, path: string): { value: HealthcheckSpec | null } | undefined {
  const map = r.map(node, path);
  if (!map) return undefined;
  const f = r.fields(map, path, HEALTHCHECK_FIELDS, {
    refuse: { start_interval: 'it needs Docker Engine 25 or later; use interval' },
    where: 'healthcheck',
  });
  let failed = false;
  const disableEntry = f.get('disable');
  const disable = disableEntry ? r.bool(disableEntry.value, child(path, 'disable')) : false;
  if (disable === undefined) return undefined;
  const testEntry = f.get('test');
  if (disable) {
    if (testEntry) {
      r.error(child(path, 'test'), testEntry.line, 'test and disable: true cannot be set together');
      return undefined;
    }
    return { value: null };
  }
  if (!testEntry) {
    r.error(path, map.line, 'healthcheck needs a test (changing only the timings of the image\'s own healthcheck is not supported)');
    return undefined;
  }
  let test: string[] | undefined;
  const tp = child(path, 'test');
  const tn = testEntry.value;
  if (tn.kind === 'seq') {
    const words = r.strings(tn, tp);
    if (!words) return undefined;
    const [kind, ...args] = words;
    if (kind === 'NONE') {
      if (args.length > 0) {
        r.error(tp, tn.line, 'NONE takes no arguments');
        return undefined;
      }
      return { value: null };
    }
    if (kind !== 'CMD' && kind !== 'CMD-SHELL') {
      r.error(at(tp, 0), tn.items[0]?.line ?? tn.line, `a test list starts with CMD, CMD-SHELL or NONE, got ${kind === undefined ? 'an empty list' : JSON.stringify(kind)}`);
      return undefined;
    }
    if (args.length === 0) {
      r.error(tp, tn.line, `${kind} needs a command after it`);
      return undefined;
    }
    if (kind === 'CMD-SHELL' && args.length > 1) {
      r.error(tp, tn.line, 'CMD-SHELL takes one string, the shell command line');
      return undefined;
    }
    test = words;
  } else if (tn.kind === 'scalar' && tn.value !== null) {
    const s = r.scalarText(tn, tp);
    if (s === undefined) return undefined;
    if (s.trim() === '') {
      r.error(tp, tn.line, 'test is empty');
      return undefined;
    }
    test = ['CMD-SHELL', s];
  } else {
    r.error(tp, tn.line, `expected a command string or a list starting with CMD, CMD-SHELL or NONE, got ${describe(tn)}`);
    return undefined;
  }
  const spec: HealthcheckSpec = { test, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };
  for (const [key, field] of [
    ['interval', 'intervalMs'],
    ['timeout', 'timeoutMs'],
    ['start_period', 'startPeriodMs'],
  ] as const) {
    const e = f.get(key);
    if (!e) continue;
    const ms = readDurationMs(r, e.value, child(path, key));
    if (ms === undefined) failed = true;
    else spec[field] = ms;
  }
  const retries = f.get('retries');
  if (retries) {
    const n = r.number(retries.value, child(path, 'retries'), { integer: true, min: 0, max: 1000 });
    if (n === undefined) failed = true;
    else spec.retries = n;
  }
  return failed ? undefined : { value: spec };
}
