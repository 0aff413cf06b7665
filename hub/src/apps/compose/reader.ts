import type { ComposeError } from '../../contract.js';
import { interpolate, type Lookup } from './interpolate.js';
import { MAX_ERRORS } from './limits.js';
import type { YEntry, YMap, YNode, YScalar } from './yaml-tree.js';

/**
 * Reading typed values out of the YAML tree while collecting every problem as a ComposeError with
 * its path and line. Each reader returns `undefined` after recording an error, so field parsers
 * carry on with the next field and one parse reports all it finds (up to MAX_ERRORS).
 * String scalars are interpolated as they are read: that is "before validation", as in Compose,
 * and it only touches values a field actually uses (a variable in an ignored `x-` block is never
 * looked up). Where Compose casts an interpolated string to the field's type (`privileged:
 * ${PRIV}`), the readers accept the string spellings of booleans and numbers.
 */

/** `base.key`, or `base["odd key"]` when the key would read ambiguously. */
export function child(base: string, key: string): string {
  const part = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
  if (!base) return part;
  return part.startsWith('"') ? `${base}[${part}]` : `${base}.${part}`;
}

export function at(base: string, i: number): string {
  return `${base}[${i}]`;
}

const TRUE = new Set(['true', 'yes', 'y', 'on']);
const FALSE = new Set(['false', 'no', 'n', 'off']);

export function describe(node: YNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'empty';
  return `${typeof node.value} ${JSON.stringify(node.text.length > 60 ? `${node.text.slice(0, 60)}...` : node.text)}`;
}

export class Reader {
  readonly errors: ComposeError[] = [];
  private dropped = 0;

  constructor(private readonly lookup: Lookup) {}

  error(path: string, line: number | null, message: string): void {
    if (this.errors.length < MAX_ERRORS - 1) this.errors.push({ path, line, message });
    else this.dropped++;
  }

  /** The errors, sorted by line, with a last entry saying how many were left out. */
  result(): ComposeError[] {
    const sorted = this.errors
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.line ?? Infinity) - (b.e.line ?? Infinity) || a.i - b.i)
      .map(({ e }) => e);
    if (this.dropped > 0) sorted.push({ path: '', line: null, message: `${this.dropped} more error(s) not shown; fix these first` });
    return sorted;
  }

  get errorCount(): number {
    return this.errors.length + this.dropped;
  }

  /** A string scalar interpolated; other scalars as written. `undefined` when the variables make it fail. */
  scalarText(node: YScalar, path: string): string | undefined {
    if (typeof node.value !== 'string') return node.text;
    const r = interpolate(node.value, this.lookup);
    if (r.ok) return r.value;
    this.error(path, node.line, r.message);
    return undefined;
  }

  /** A string (numbers and booleans as written). Not null, not a list or mapping. */
  text(node: YNode, path: string, what = 'a string'): string | undefined {
    if (node.kind !== 'scalar' || node.value === null) {
      this.error(path, node.line, `expected ${what}, got ${describe(node)}`);
      return undefined;
    }
    return this.scalarText(node, path);
  }

  /** Like `text`, but null (an empty value) reads as `undefined` without an error. */
  optionalText(node: YNode, path: string, what = 'a string'): string | undefined {
    if (node.kind === 'scalar' && node.value === null) return undefined;
    return this.text(node, path, what);
  }

  bool(node: YNode, path: string): boolean | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
    if (node.kind === 'scalar' && typeof node.value === 'string') {
      const s = this.scalarText(node, path);
      if (s === undefined) return undefined;
      if (TRUE.has(s.toLowerCase())) return true;
      if (FALSE.has(s.toLowerCase())) return false;
    }
    this.error(path, node.line, `expected true or false, got ${describe(node)}`);
    return undefined;
  }

  /** A finite number, from a YAML number or a numeric string. */
  number(node: YNode, path: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    let n: number | undefined;
    if (node.kind === 'scalar' && typeof node.value === 'number') n = node.value;
    else if (node.kind === 'scalar' && typeof node.value === 'string') {
      const s = this.scalarText(node, path);
      if (s === undefined) return undefined;
      if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s.trim())) n = Number(s);
    }
    const kind = opts.integer ? 'a whole number' : 'a number';
    if (n === undefined || !Number.isFinite(n)) {
      this.error(path, node.line, `expected ${kind}, got ${describe(node)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(n)) {
      this.error(path, node.line, `expected ${kind}, got ${n}`);
      return undefined;
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      const range = opts.max === undefined ? `at least ${opts.min}` : opts.min === undefined ? `at most ${opts.max}` : `between ${opts.min} and ${opts.max}`;
      this.error(path, node.line, `must be ${range}, got ${n}`);
      return undefined;
    }
    return n;
  }

  map(node: YNode, path: string): YMap | undefined {
    if (node.kind === 'map') return node;
    this.error(path, node.line, `expected a mapping, got ${describe(node)}`);
    return undefined;
  }

  list(node: YNode, path: string): readonly YNode[] | undefined {
    if (node.kind === 'seq') return node.items;
    this.error(path, node.line, `expected a list, got ${describe(node)}`);
    return undefined;
  }

  /** A string or a list of them, as the nodes (Compose's `string | string[]` fields). */
  stringOrList(node: YNode, path: string): { node: YNode; path: string }[] | undefined {
    if (node.kind === 'seq') return node.items.map((n, i) => ({ node: n, path: at(path, i) }));
    if (node.kind === 'scalar' && node.value !== null) return [{ node, path }];
    this.error(path, node.line, `expected a string or a list of strings, got ${describe(node)}`);
    return undefined;
  }

  /** A list of strings. */
  strings(node: YNode, path: string): string[] | undefined {
    const items = this.list(node, path);
    if (!items) return undefined;
    const out: string[] = [];
    let failed = false;
    items.forEach((item, i) => {
      const s = this.text(item, at(path, i));
      if (s === undefined) failed = true;
      else out.push(s);
    });
    return failed ? undefined : out;
  }

  /**
   * The entries of a mapping whose keys must come from `known`; anything else is an error that
   * names it (with `refuse[key]` as the reason for a Compose field pifleet leaves out, or the
   * nearest known key as a guess at a typo). `x-` keys are Compose extensions: ignored unless
   * `extensions` is false.
   */
  fields(
    map: YMap,
    path: string,
    known: readonly string[],
    opts: { refuse?: Readonly<Record<string, string>>; extensions?: boolean; where?: string } = {},
  ): Map<string, YEntry> {
    const out = new Map<string, YEntry>();
    for (const e of map.entries) {
      if (known.includes(e.key)) {
        out.set(e.key, e);
        continue;
      }
      if (e.key.startsWith('x-') && opts.extensions !== false) continue;
      const where = opts.where ? ` in ${opts.where}` : '';
      const refused = opts.refuse && Object.hasOwn(opts.refuse, e.key) ? opts.refuse[e.key] : undefined;
      if (refused !== undefined) {
        this.error(child(path, e.key), e.line, `${e.key} is not supported${where}${refused ? `: ${refused}` : ''}`);
        continue;
      }
      const guess = nearest(e.key, known);
      this.error(child(path, e.key), e.line, `unknown field ${JSON.stringify(e.key)}${where}${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
    return out;
  }
}

/** The known key closest to `key` by edit distance, if it is close enough to be a typo. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const k = key.toLowerCase();
  for (const candidate of known) {
    const d = editDistance(k, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.min(3, Math.floor(key.length / 4))) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
