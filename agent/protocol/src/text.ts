import { z } from 'zod';

/**
 * Characters PostgreSQL refuses: U+0000 in text and jsonb, and unpaired UTF-16 surrogates in
 * jsonb (JSON.stringify writes them as `\udXXX` escapes, which jsonb rejects). Cleaning them at
 * the edge keeps one device's odd hostname from ever reaching SQL as an error.
 */
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with NUL removed and unpaired surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  return s.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** A string schema of at most `max` characters whose value is made storable (see storableText). */
export function storableString(max: number) {
  // overwrite (not transform) keeps the schema a plain string, so it still renders as JSON Schema.
  return z.string().max(max).overwrite(storableText);
}

/** Deepest nesting a free-form JSON value (event data, command args and results) may have. */
export const MAX_JSON_DEPTH = 16;

/** Whether `value` nests no deeper than `max` levels; iterative, so a hostile payload cannot blow the stack. */
function nestsWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

/** `value` with every string and key made storable (see storableText); only called once the depth is bounded. */
function storableDeep(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(storableDeep);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = storableDeep(v);
  return out;
}

/**
 * Free-form JSON whose shape a later capability defines: anything goes, but nesting is bounded
 * (the payload size bounds the rest) and strings are made storable, because the hub keeps these
 * values in jsonb.
 */
export function storableJson() {
  return z
    .unknown()
    .refine((v) => nestsWithin(v, MAX_JSON_DEPTH), { message: `nested deeper than ${MAX_JSON_DEPTH} levels`, abort: true })
    .overwrite(storableDeep);
}

/** A JSON object (not an array or scalar) of free-form members; see storableJson. */
export function storableRecord() {
  return z
    .record(z.string().max(64), z.unknown())
    .refine((v) => nestsWithin(v, MAX_JSON_DEPTH), { message: `nested deeper than ${MAX_JSON_DEPTH} levels`, abort: true })
    .overwrite((v) => storableDeep(v) as Record<string, unknown>);
}
