import type Docker from 'dockerode';
import { LABELS, type ContainerStatus, type ManagedContainer } from './engine.js';

/** A container's inspect answer -> ManagedContainer; null for one pifleet does not own. */

const DOCKER_STATUSES = new Set<ContainerStatus>(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);

/**
 * Docker's statuses pass as they are. Podman has more: `stopped` (a container that ran and
 * ended, which it reports between restarts), `configured`/`initialized` (created, not yet run)
 * and `stopping`; each maps to what Docker would say.
 */
export function normaliseStatus(raw: string | undefined): ContainerStatus {
  const s = (raw ?? '').toLowerCase();
  if (DOCKER_STATUSES.has(s as ContainerStatus)) return s as ContainerStatus;
  switch (s) {
    case 'stopped':
      return 'exited';
    case 'configured':
    case 'initialized':
      return 'created';
    case 'stopping':
      return 'running';
    default:
      return 'dead';
  }
}

/** Engines report "0001-01-01T00:00:00Z" for never; that and anything unparsable is null. */
export function parseTime(raw: string | undefined): number | null {
  if (!raw) return null;
  const t = Date.parse(raw);
  return Number.isFinite(t) && t > 0 ? t : null;
}

export function normaliseHealth(raw: string | undefined): ManagedContainer['health'] {
  return raw === 'starting' || raw === 'healthy' || raw === 'unhealthy' ? raw : null;
}

export function isManaged(labels: Record<string, string> | null | undefined): boolean {
  return labels?.[LABELS.managed] === 'true';
}

export function toManagedContainer(info: Docker.ContainerInspectInfo): ManagedContainer | null {
  const labels = info.Config?.Labels ?? {};
  if (!isManaged(labels)) return null;
  const state = info.State;
  const status = normaliseStatus(state?.Status);
  const startedAt = parseTime(state?.StartedAt);
  const ended = status === 'exited' || status === 'dead';
  const release = Number(labels[LABELS.release]);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    app: labels[LABELS.app] ?? '',
    service: labels[LABELS.service] ?? '',
    configHash: labels[LABELS.configHash] ?? '',
    release: Number.isInteger(release) && release >= 0 ? release : 0,
    image: info.Config?.Image ?? '',
    status,
    // A created container that never ran has no exit code, whatever the engine puts there.
    exitCode: ended && startedAt !== null ? (state?.ExitCode ?? null) : null,
    oomKilled: state?.OOMKilled === true,
    startedAt,
    finishedAt: ended ? parseTime(state?.FinishedAt) : null,
    health: normaliseHealth(state?.Health?.Status),
    ...stopSettings(info.Config as { StopTimeout?: number; StopSignal?: string } | undefined),
  };
}

/** The stop signal and grace the container was created with, for stopping it once its spec is gone. */
function stopSettings(config: { StopTimeout?: number; StopSignal?: string } | undefined): Pick<ManagedContainer, 'stopGraceMs' | 'stopSignal'> {
  const out: Pick<ManagedContainer, 'stopGraceMs' | 'stopSignal'> = {};
  if (typeof config?.StopTimeout === 'number' && config.StopTimeout >= 0) out.stopGraceMs = config.StopTimeout * 1000;
  if (config?.StopSignal) out.stopSignal = config.StopSignal;
  return out;
}
