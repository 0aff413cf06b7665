import type { ServiceSpec } from '@pifleet/protocol';

/**
 * The container engine as the supervisor sees it. One implementation talks to the Docker Engine
 * API through dockerode (Docker, or Podman's compatible service); every engine quirk stays
 * behind this interface, so step inference and supervision are written against plain data.
 *
 * Ownership: everything pifleet creates carries `LABELS.managed`; the engine lists and touches
 * only those, never another container, volume or network (including the agent's own container).
 */

export const LABELS = {
  managed: 'io.pifleet.managed',
  app: 'io.pifleet.app',
  service: 'io.pifleet.service',
  /** Hash of the normalised ServiceSpec the container was created from; equal hash = no recreate. */
  configHash: 'io.pifleet.config-hash',
  release: 'io.pifleet.release',
} as const;

/** The engine's name for a service's container, volume or network: unique per app and readable in `docker ps`. */
export const containerName = (app: string, service: string): string => `pifleet_${app}_${service}`;
export const volumeName = (app: string, volume: string): string => `pifleet_${app}_${volume}`;
export const networkName = (app: string, network: string): string => `pifleet_${app}_${network}`;

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** A pifleet-owned container as the engine reports it. */
export interface ManagedContainer {
  id: string;
  name: string;
  app: string;
  service: string;
  configHash: string;
  release: number;
  image: string;
  status: ContainerStatus;
  exitCode: number | null;
  oomKilled: boolean;
  /** ms since epoch; null if never started. */
  startedAt: number | null;
  finishedAt: number | null;
  /** Docker's health status, when the container has a healthcheck. */
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  /** The stop grace and signal it was created with (used when its spec is no longer known). */
  stopGraceMs?: number;
  stopSignal?: string;
}

export interface ManagedVolume {
  name: string;
  app: string;
}

export interface ManagedNetwork {
  id: string;
  name: string;
  app: string;
}

/** What happened to a container, from the engine's event stream (normalised across engines). */
export interface EngineEvent {
  kind: 'start' | 'die' | 'oom' | 'health' | 'destroy';
  containerId: string;
  app: string;
  service: string;
  at: number;
  exitCode?: number;
  health?: 'healthy' | 'unhealthy' | 'starting';
}

export interface PullProgress {
  done: number;
  total: number;
}

/** An engine failure the operator should read as such (mapped from HTTP statuses and messages). */
export class EngineError extends Error {
  constructor(
    readonly code: 'engine_down' | 'image_missing' | 'image_pull_failed' | 'disk_full' | 'port_conflict' | 'not_found' | 'conflict' | 'engine_error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

export interface Engine {
  /** Resolves when the engine answers; throws EngineError('engine_down') otherwise. */
  ping(): Promise<void>;
  listContainers(): Promise<ManagedContainer[]>;
  inspectContainer(id: string): Promise<ManagedContainer | null>;
  /** Creates (not starts) the service's container, with the owner labels and the config hash. */
  createContainer(app: string, service: string, spec: ServiceSpec, configHash: string, release: number): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM (or the given signal), then SIGKILL after graceMs. Stopping a stopped container is fine. */
  stopContainer(id: string, graceMs: number, signal?: string): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** The last `lines` lines the container wrote (stdout and stderr, in order). */
  logTail(id: string, lines: number): Promise<string[]>;

  hasImage(ref: string): Promise<boolean>;
  pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>;
  /** Loads a `docker save` archive (uncompressed tar stream); resolves with the image refs it held. */
  loadImage(archive: NodeJS.ReadableStream): Promise<string[]>;

  listVolumes(): Promise<ManagedVolume[]>;
  createVolume(app: string, volume: string, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  listNetworks(): Promise<ManagedNetwork[]>;
  createNetwork(app: string, network: string, opts: { internal: boolean; labels: Record<string, string> }): Promise<void>;
  removeNetwork(name: string): Promise<void>;

  /**
   * Streams events of pifleet-owned containers until `signal` aborts; reconnects by itself and
   * calls `onDown`/`onUp` when the engine goes away and comes back.
   */
  watch(handlers: { onEvent(e: EngineEvent): void; onDown?(err: Error): void; onUp?(): void }, signal: AbortSignal): void;
}
