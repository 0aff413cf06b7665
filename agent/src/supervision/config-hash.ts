import { createHash } from 'node:crypto';
import type { ServiceSpec } from '@pifleet/protocol';

/**
 * The container's identity as the engine sees it: a short hash of the normalised ServiceSpec,
 * stored as the container's config-hash label. Equal hash = the container is kept as it is.
 *
 * Left out, because they never reach the engine and changing them must not recreate a running
 * container: `restart` (the engine's restart policy is always 'no'; the agent restarts) and
 * `supervision` (the agent's own rules). The app's `release` is not part of a ServiceSpec at all,
 * so a new release that leaves a service unchanged keeps its container.
 */
export function configHash(spec: ServiceSpec): string {
  const { restart: _restart, supervision: _supervision, ...engineFacing } = spec;
  return createHash('sha256').update(canonicalJson(engineFacing)).digest('hex').slice(0, 16);
}

/**
 * The supervision rules of a service as one comparable string (restart policy and x-pifleet
 * fields): a change here leaves FATAL like a new container spec does, without recreating.
 */
export function rulesKey(spec: ServiceSpec): string {
  return canonicalJson({ restart: spec.restart, supervision: spec.supervision });
}

/**
 * JSON with object keys sorted at every level, so equal values give equal text whatever order
 * their keys were built in (the hub's, a reloaded file's). Array order is kept: it is meaningful
 * (command arguments). `undefined` members are dropped, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortKeys(v);
  }
  return out;
}
