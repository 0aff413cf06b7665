import { ServiceSpecSchema, type ServiceSpec } from '@pifleet/protocol';

/**
 * The top-level ServiceSpec fields that differ between two specs (the apply plan's `fields` for
 * a recreate), in the schema's field order. Values compare structurally: key order in records
 * does not matter, order in lists does (a reordered `command` is a different command).
 */
export function diffServiceSpecs(a: ServiceSpec, b: ServiceSpec): string[] {
  const order = Object.keys(ServiceSpecSchema.shape);
  const keys = new Set([...order, ...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) out.push(k);
  }
  return out;
}

function same(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => same(v, y[i]));
  // Absent and undefined are the same: an optional field left out.
  const xs = Object.entries(x).filter(([, v]) => v !== undefined);
  const ys = Object.entries(y).filter(([, v]) => v !== undefined);
  if (xs.length !== ys.length) return false;
  const ym = new Map(ys);
  return xs.every(([k, v]) => ym.has(k) && same(v, ym.get(k)));
}
