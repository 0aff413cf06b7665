import type { DependsCondition, ImageBundleRef, ServiceSpec } from '@pifleet/protocol';

/**
 * What the reconciler can do, one engine action per step (after the composition steps of
 * balena-supervisor). Steps are plain data: infer-steps.ts derives them from state and the
 * applier executes them, so the decision is testable without an engine.
 */

export interface ServiceRef {
  app: string;
  service: string;
}

/** Why a container is stopped; the supervisor records it so the exit is not taken for a crash. */
export type StopReason =
  /** The operator's stop control. */
  | 'operator_stop'
  /** The supervisor wants it restarted (operator restart, unhealthy too long). */
  | 'restart'
  /** Its spec changed: it is removed and created again. */
  | 'replace'
  /** Its service (or app) is no longer desired. */
  | 'remove';

export type Step =
  /** Pull `image` (or download and load `bundle`); `services` are those waiting for it. */
  | { action: 'fetchImage'; image: string; bundle?: ImageBundleRef; services: ServiceRef[] }
  | { action: 'createNetwork'; app: string; network: string; internal: boolean; labels: Record<string, string> }
  | { action: 'createVolume'; app: string; volume: string; labels: Record<string, string> }
  | { action: 'createContainer'; app: string; service: string; spec: ServiceSpec; configHash: string; release: number }
  | { action: 'startContainer'; app: string; service: string; containerId: string }
  | { action: 'stopContainer'; app: string; service: string; containerId: string; graceMs: number; signal?: string; reason: StopReason }
  | { action: 'removeContainer'; app: string; service: string; containerId: string; reason: 'replace' | 'remove' | 'dead' }
  /** `name` is the engine's name of a network or volume of `app`. */
  | { action: 'removeNetwork'; app: string; name: string }
  | { action: 'removeVolume'; app: string; name: string }
  /** Not an action: `service` cannot start until `dependency` meets `condition`. */
  | { action: 'waitFor'; app: string; service: string; dependency: string; condition: DependsCondition };

export type StepAction = Step['action'];
export type StepOf<A extends StepAction> = Extract<Step, { action: A }>;

/** A one-line description for logs and error messages. */
export function describeStep(s: Step): string {
  switch (s.action) {
    case 'fetchImage':
      return `${s.bundle ? 'load bundle' : 'pull'} ${s.image}`;
    case 'createNetwork':
      return `create network ${s.app}/${s.network}`;
    case 'createVolume':
      return `create volume ${s.app}/${s.volume}`;
    case 'createContainer':
      return `create ${s.app}/${s.service}`;
    case 'startContainer':
      return `start ${s.app}/${s.service}`;
    case 'stopContainer':
      return `stop ${s.app}/${s.service} (${s.reason})`;
    case 'removeContainer':
      return `remove ${s.app}/${s.service} (${s.reason})`;
    case 'removeNetwork':
      return `remove network ${s.name}`;
    case 'removeVolume':
      return `remove volume ${s.name}`;
    case 'waitFor':
      return `${s.app}/${s.service} waits for ${s.dependency} (${s.condition})`;
  }
}

/** The app and service a step is about, when it is about one (for ApplyError and status messages). */
export function stepService(s: Step): Partial<ServiceRef> {
  switch (s.action) {
    case 'fetchImage':
      return s.services[0] ?? {};
    case 'createNetwork':
    case 'createVolume':
    case 'removeNetwork':
    case 'removeVolume':
      return { app: s.app };
    default:
      return { app: s.app, service: s.service };
  }
}
