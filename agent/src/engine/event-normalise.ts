import { LABELS, type EngineEvent } from './engine.js';

/**
 * One raw `/events` object -> an EngineEvent, or null for what supervision does not need.
 *
 * Docker and Podman differ here:
 * - Docker's health change is the action `health_status: healthy`; Podman 4 sends the action
 *   `health_status` with the status in a top-level `HealthStatus`, Podman 5 in the actor
 *   attribute `health_status`.
 * - Podman adds actions Docker has not (`init`, `cleanup`, `exec_died`, ...) and says `remove`
 *   (older versions `died`) where Docker says `destroy` (`die`); its attributes carry a
 *   `containerExitCode` on every event, which only counts on a die.
 */

interface RawEvent {
  Type?: unknown;
  Action?: unknown;
  status?: unknown;
  id?: unknown;
  time?: unknown;
  timeNano?: unknown;
  HealthStatus?: unknown;
  Actor?: { ID?: unknown; Attributes?: Record<string, unknown> };
}

const HEALTH = new Set(['healthy', 'unhealthy', 'starting']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function eventTime(e: RawEvent): number {
  if (typeof e.timeNano === 'number' && e.timeNano > 0) return Math.floor(e.timeNano / 1e6);
  if (typeof e.time === 'number' && e.time > 0) return e.time * 1000;
  return Date.now();
}

function healthOf(action: string, e: RawEvent, attrs: Record<string, unknown>): EngineEvent['health'] | undefined {
  const inAction = action.startsWith('health_status:') ? action.slice('health_status:'.length).trim() : undefined;
  const h = inAction || str(attrs['health_status']) || str(e.HealthStatus);
  return h && HEALTH.has(h) ? (h as EngineEvent['health']) : undefined;
}

export function normaliseEvent(raw: unknown): EngineEvent | null {
  if (!raw || typeof raw !== 'object') return null;
  const e = raw as RawEvent;
  if ((str(e.Type) ?? 'container') !== 'container') return null;
  const attrs = e.Actor?.Attributes ?? {};
  // The stream is filtered by this label already; checking again keeps a filter the engine
  // ignored from ever reporting someone else's container.
  if (attrs[LABELS.managed] !== 'true') return null;
  const containerId = str(e.Actor?.ID) ?? str(e.id);
  const app = str(attrs[LABELS.app]);
  const service = str(attrs[LABELS.service]);
  if (!containerId || !app || !service) return null;
  const action = str(e.Action) ?? str(e.status) ?? '';
  const base = { containerId, app, service, at: eventTime(e) };
  switch (action) {
    case 'start':
      return { kind: 'start', ...base };
    case 'die':
    case 'died': {
      const code = Number(str(attrs['exitCode']) ?? attrs['exitCode']);
      return Number.isInteger(code) ? { kind: 'die', ...base, exitCode: code } : { kind: 'die', ...base };
    }
    case 'oom':
      return { kind: 'oom', ...base };
    case 'destroy':
    case 'remove':
      return { kind: 'destroy', ...base };
  }
  if (action.startsWith('health_status')) {
    const health = healthOf(action, e, attrs);
    return health ? { kind: 'health', ...base, health } : null;
  }
  return null;
}
