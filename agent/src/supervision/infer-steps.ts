import type { AppSpec, DependsCondition, ServiceSpec, ServiceState } from '@pifleet/protocol';
import { networkName, volumeName, type ManagedContainer, type ManagedNetwork, type ManagedVolume } from '../engine/engine.js';
import { configHash } from './config-hash.js';
import type { Step, StepOf, StopReason } from './steps.js';
import { networkModeService, startDependencies, startOrder } from './validate-app.js';

/**
 * Step inference: a PURE function from what the engine has, what the hub wants and what the
 * supervisor wants right now, to the steps that can be taken now. The applier runs them, reads
 * the engine again and asks again, until nothing is left (balena-supervisor's model): each call
 * only plans what the current state allows, so a later step never rests on a guess about an
 * earlier one (a created container's id, a dependency's health).
 *
 * Volumes: those of an app that is no longer desired are removed once its containers are gone
 * (the hub is the only place an operator manages a Pi's apps, so a kept volume would be an
 * invisible leak on a small SD card); a volume merely dropped from an app that is still deployed
 * is kept, as `docker compose up` keeps it. `keepVolumesOfRemovedApps` keeps those too.
 */

/** What the supervisor wants done with a service's container right now. */
export type RunIntent =
  /** Should run: create and start it (once its dependencies allow). */
  | 'start'
  /** It runs, or just stopped and the supervisor is deciding: leave it alone. */
  | 'keep'
  /** Must not be started now (BACKOFF not yet due, EXITED, FATAL). */
  | 'hold'
  /** Operator stop: stop it if it runs, never start it. */
  | 'stop'
  /** Stop it if it runs; the supervisor starts it again. */
  | 'restart';

export interface ServiceView {
  intent: RunIntent;
  state: ServiceState;
}

export interface EngineSnapshot {
  containers: readonly ManagedContainer[];
  volumes: readonly ManagedVolume[];
  networks: readonly ManagedNetwork[];
  /** Image refs the engine has, of those the desired state names. */
  images: ReadonlySet<string>;
}

export interface InferInput {
  current: EngineSnapshot;
  /** Desired apps (validated; see validate-app.ts). */
  apps: Readonly<Record<string, AppSpec>>;
  /** Apps whose containers, networks and volumes are left exactly as they are (an invalid spec). */
  frozen?: ReadonlySet<string>;
  /** The supervisor's view of a desired service; absent = a new service, to be started. */
  view(app: string, service: string): ServiceView | undefined;
  keepVolumesOfRemovedApps?: boolean;
}

/** Stop grace for a container whose spec is gone (its service was removed). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

const NEW_SERVICE: ServiceView = { intent: 'start', state: 'PENDING' };

export function isRunning(c: ManagedContainer): boolean {
  return c.status === 'running' || c.status === 'restarting' || c.status === 'paused';
}

/** Networks of the app that its services join (a service with a networkMode joins none). */
export function neededNetworks(app: AppSpec): string[] {
  const out = new Set<string>();
  for (const spec of Object.values(app.services)) {
    if (spec.networkMode !== undefined) continue;
    for (const n of spec.networks.length > 0 ? spec.networks : ['default']) out.add(n);
  }
  return [...out].sort();
}

/** Whether dependency container `c` (of the desired spec) meets `condition`. */
export function dependencyMet(condition: DependsCondition, c: ManagedContainer, state: ServiceState | undefined): boolean {
  switch (condition) {
    case 'service_started':
      // A dependency that ran and finished for good (a one-shot job) has started, as compose counts it.
      return isRunning(c) || state === 'EXITED';
    case 'service_healthy':
      return isRunning(c) && c.health === 'healthy';
    case 'service_completed_successfully':
      return c.status === 'exited' && c.exitCode === 0 && c.startedAt !== null;
  }
}

const key = (app: string, service: string): string => `${app}\u0000${service}`;

export function inferSteps(input: InferInput): Step[] {
  const { current, apps } = input;
  const frozen = input.frozen ?? new Set<string>();
  const fetches = new Map<string, StepOf<'fetchImage'>>();
  const netCreates: Step[] = [];
  const volCreates: Step[] = [];
  const stops: Step[] = [];
  const removes: Step[] = [];
  const netRemoves: Step[] = [];
  const volRemoves: Step[] = [];
  const creates: Step[] = [];
  const starts: Step[] = [];
  const waits: Step[] = [];

  /** Containers leaving this pass (stopped if running, then removed). */
  const retired = new Set<string>();
  const retire = (c: ManagedContainer, reason: 'replace' | 'remove', spec?: ServiceSpec): void => {
    if (retired.has(c.id) || c.status === 'removing') return;
    retired.add(c.id);
    if (isRunning(c)) {
      const stop: StepOf<'stopContainer'> = {
        action: 'stopContainer', app: c.app, service: c.service, containerId: c.id,
        // The container is stopped the way it was created to be stopped: a removed service has
        // no spec any more, and a replaced one's new spec may say otherwise than the old.
        graceMs: c.stopGraceMs ?? spec?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, reason,
      };
      const signal = c.stopSignal ?? spec?.stopSignal;
      if (signal !== undefined) stop.signal = signal;
      stops.push(stop);
    }
    removes.push({ action: 'removeContainer', app: c.app, service: c.service, containerId: c.id, reason: c.status === 'dead' ? 'dead' : reason });
  };
  const fetch = (app: string, service: string, spec: ServiceSpec): void => {
    let f = fetches.get(spec.image);
    if (!f) {
      f = { action: 'fetchImage', image: spec.image, services: [] };
      if (spec.bundle) f.bundle = spec.bundle;
      fetches.set(spec.image, f);
    }
    f.services.push({ app, service });
  };

  // Every container of a desired service, grouped; containers of anything else leave.
  const byService = new Map<string, ManagedContainer[]>();
  for (const c of current.containers) {
    if (frozen.has(c.app)) continue;
    if (!apps[c.app]?.services[c.service]) {
      retire(c, 'remove');
      continue;
    }
    const k = key(c.app, c.service);
    byService.set(k, [...(byService.get(k) ?? []), c]);
  }

  for (const appName of Object.keys(apps).sort()) {
    if (frozen.has(appName)) continue;
    const app = apps[appName]!;
    const order = startOrder(app);
    const hashes = new Map(order.map((s) => [s, configHash(app.services[s]!)]));
    const view = (s: string): ServiceView => input.view(appName, s) ?? NEW_SERVICE;

    for (const n of neededNetworks(app)) {
      if (current.networks.some((x) => x.app === appName && x.name === networkName(appName, n))) continue;
      const decl = app.networks[n];
      netCreates.push({ action: 'createNetwork', app: appName, network: n, internal: decl?.internal ?? false, labels: { ...(decl?.labels ?? {}) } });
    }
    for (const v of Object.keys(app.volumes).sort()) {
      if (current.volumes.some((x) => x.app === appName && x.name === volumeName(appName, v))) continue;
      volCreates.push({ action: 'createVolume', app: appName, volume: v, labels: { ...app.volumes[v]!.labels } });
    }

    // The one container per service that counts: the one of the desired spec, else a running
    // one, else any. Extras (a crash between create and remove can leave one) leave.
    const chosen = new Map<string, ManagedContainer | undefined>();
    for (const s of order) {
      const list = byService.get(key(appName, s)) ?? [];
      const pick =
        list.find((c) => c.configHash === hashes.get(s) && c.status !== 'dead') ?? list.find((c) => isRunning(c)) ?? list[0];
      for (const c of list) if (c !== pick) retire(c, 'remove', app.services[s]);
      chosen.set(s, pick);
    }

    // Containers to replace or remove: dependents before what they depend on.
    const missing = new Set<string>();
    for (const s of [...order].reverse()) {
      const spec = app.services[s]!;
      const c = chosen.get(s);
      if (!c) {
        missing.add(s);
        continue;
      }
      if (c.status === 'dead') {
        retire(c, 'replace', spec);
        missing.add(s);
        continue;
      }
      const stale = c.configHash !== hashes.get(s);
      if (stale && current.images.has(spec.image)) {
        retire(c, 'replace', spec);
        missing.add(s);
        continue;
      }
      // The new image first: while it downloads, the old container keeps running (or stopped).
      if (stale) fetch(appName, s, spec);
      if (isRunning(c)) {
        const intent = view(s).intent;
        if (intent === 'stop' || intent === 'restart') {
          const reason: StopReason = intent === 'stop' ? 'operator_stop' : 'restart';
          const stop: StepOf<'stopContainer'> = { action: 'stopContainer', app: appName, service: s, containerId: c.id, graceMs: spec.stopGraceMs, reason };
          if (spec.stopSignal !== undefined) stop.signal = spec.stopSignal;
          stops.push(stop);
        }
      }
    }

    // Creates and starts: what services depend on, first.
    for (const s of order) {
      const spec = app.services[s]!;
      if (missing.has(s)) {
        if (!current.images.has(spec.image)) {
          fetch(appName, s, spec);
          continue;
        }
        // `service:<name>` joins that container's namespace, so it must exist first.
        const shared = networkModeService(spec);
        if (shared !== undefined) {
          const sc = chosen.get(shared);
          if (!sc || missing.has(shared) || sc.configHash !== hashes.get(shared)) {
            waits.push({ action: 'waitFor', app: appName, service: s, dependency: shared, condition: 'service_started' });
            continue;
          }
        }
        creates.push({ action: 'createContainer', app: appName, service: s, spec, configHash: hashes.get(s)!, release: app.release });
        continue;
      }
      const c = chosen.get(s)!;
      if (retired.has(c.id) || c.configHash !== hashes.get(s) || isRunning(c) || c.status === 'removing') continue;
      if (view(s).intent !== 'start') continue;
      const unmet = Object.entries(startDependencies(spec))
        .sort(([a], [b]) => a.localeCompare(b))
        .find(([dep, cond]) => {
          const dc = chosen.get(dep);
          return !dc || missing.has(dep) || retired.has(dc.id) || dc.configHash !== hashes.get(dep) || !dependencyMet(cond, dc, input.view(appName, dep)?.state);
        });
      if (unmet) waits.push({ action: 'waitFor', app: appName, service: s, dependency: unmet[0], condition: unmet[1] });
      else starts.push({ action: 'startContainer', app: appName, service: s, containerId: c.id });
    }

    // Networks no service joins any more, once no container of the old spec is left on them.
    const needed = new Set(neededNetworks(app).map((n) => networkName(appName, n)));
    const staleKept = current.containers.some(
      (c) => c.app === appName && !retired.has(c.id) && c.configHash !== hashes.get(c.service),
    );
    if (!staleKept) {
      for (const n of current.networks) {
        if (n.app === appName && !needed.has(n.name)) netRemoves.push({ action: 'removeNetwork', app: appName, name: n.name });
      }
    }
  }

  // Removed apps: every container of theirs is retired above, so their networks and volumes go now.
  const removedApp = (a: string): boolean => !(a in apps) && !frozen.has(a);
  for (const n of current.networks) if (removedApp(n.app)) netRemoves.push({ action: 'removeNetwork', app: n.app, name: n.name });
  if (!input.keepVolumesOfRemovedApps) {
    for (const v of current.volumes) if (removedApp(v.app)) volRemoves.push({ action: 'removeVolume', app: v.app, name: v.name });
  }

  // Quick steps first, downloads last: a long pull must not hold back what can be done now.
  return [...netCreates, ...volCreates, ...stops, ...removes, ...netRemoves, ...volRemoves, ...creates, ...starts, ...fetches.values(), ...waits];
}
