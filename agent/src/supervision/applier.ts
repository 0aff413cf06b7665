import type { AppSpec } from '@pifleet/protocol';
import { EngineError, type Engine, type PullProgress } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import { StepError } from './apply-error.js';
import type { BundleSource } from './bundle-source.js';
import type { ApplyOutcome } from './exclusive-runner.js';
import { inferSteps, type EngineSnapshot } from './infer-steps.js';
import { describeStep, type Step } from './steps.js';
import { serviceKey, type Supervisor } from './supervisor.js';

/**
 * One apply: read the engine, let the supervisor see it, infer the steps, take them, and again,
 * until no step is left (converged) or only dependencies to wait for. Between steps it checks
 * the abort signal (a newer desired state); pulls and bundle downloads take the signal itself.
 * A failing step ends the apply with a StepError that names it.
 */

export interface DesiredView {
  apps: Readonly<Record<string, AppSpec>>;
  /** Apps left as they are (an invalid spec). */
  frozen: ReadonlySet<string>;
}

export interface ApplierOptions {
  engine: Engine;
  supervisor: Supervisor;
  /** The desired apps now; undefined = nothing accepted yet, so nothing is touched. */
  desired(): DesiredView | undefined;
  bundles?: BundleSource;
  log: Logger;
  keepVolumesOfRemovedApps?: boolean;
  /**
   * Which apps this agent manages; default all. Only tests narrow it, so that several agents can
   * share one engine without removing each other's apps.
   */
  ownsApp?: (app: string) => boolean;
  /** Passes one apply may take before it is called stuck. */
  maxPasses?: number;
  /** At most this often a pull's progress reaches the reported state. */
  progressEveryMs?: number;
}

const DEFAULT_MAX_PASSES = 400;

export class Applier {
  private waiting = new Set<string>();

  constructor(private readonly o: ApplierOptions) {}

  async apply(signal: AbortSignal): Promise<ApplyOutcome> {
    let previous = '';
    let repeats = 0;
    for (let pass = 0; pass < (this.o.maxPasses ?? DEFAULT_MAX_PASSES); pass++) {
      signal.throwIfAborted();
      const desired = this.o.desired();
      if (!desired) return 'converged';
      const current = await this.snapshot(desired.apps);
      signal.throwIfAborted();
      this.o.supervisor.observeAll(current.containers);
      const steps = inferSteps({
        current,
        apps: desired.apps,
        frozen: desired.frozen,
        view: (a, s) => this.o.supervisor.view(a, s),
        ...(this.o.keepVolumesOfRemovedApps ? { keepVolumesOfRemovedApps: true } : {}),
      });
      this.noteWaits(steps);
      const actions = steps.filter((s) => s.action !== 'waitFor');
      if (actions.length === 0) return steps.length > 0 ? 'waiting' : 'converged';
      // The same steps three passes in a row: the engine said yes but nothing changed. Fail rather
      // than spin. (Twice can be real: a start whose container died at once, restarted without delay.)
      const plan = JSON.stringify(actions.map((s) => [describeStep(s), 'containerId' in s ? s.containerId : '']));
      repeats = plan === previous ? repeats + 1 : 0;
      if (repeats >= 2) throw new StepError(actions[0]!, new EngineError('engine_error', 'the step had no effect'));
      previous = plan;
      for (const step of actions) {
        signal.throwIfAborted();
        this.o.log.debug('step', { step: describeStep(step) });
        await this.execute(step, signal);
      }
    }
    throw new EngineError('engine_error', `no convergence after ${this.o.maxPasses ?? DEFAULT_MAX_PASSES} passes`);
  }

  private async snapshot(apps: Readonly<Record<string, AppSpec>>): Promise<EngineSnapshot> {
    const { engine } = this.o;
    const mine = this.o.ownsApp ?? (() => true);
    const containers = (await engine.listContainers()).filter((c) => mine(c.app));
    const volumes = (await engine.listVolumes()).filter((v) => mine(v.app));
    const networks = (await engine.listNetworks()).filter((n) => mine(n.app));
    const images = new Set<string>();
    const refs = new Set(Object.values(apps).flatMap((a) => Object.values(a.services).map((s) => s.image)));
    for (const ref of refs) if (await engine.hasImage(ref)) images.add(ref);
    return { containers, volumes, networks, images };
  }

  private noteWaits(steps: Step[]): void {
    const now = new Set<string>();
    for (const s of steps) {
      if (s.action !== 'waitFor') continue;
      now.add(serviceKey(s.app, s.service));
      this.o.supervisor.setWaiting(s.app, s.service, `waiting for ${s.dependency} (${s.condition})`);
    }
    for (const key of this.waiting) {
      if (now.has(key)) continue;
      const [app, service] = splitKey(key);
      this.o.supervisor.setWaiting(app, service, undefined);
    }
    this.waiting = now;
  }

  private async execute(step: Step, signal: AbortSignal): Promise<void> {
    const on = step.action !== 'fetchImage' && 'service' in step ? step : undefined;
    if (on) this.o.supervisor.busy(on.app, on.service, true);
    try {
      await this.run(step, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      const err = new StepError(step, e);
      if (step.action !== 'fetchImage' && 'service' in step) this.o.supervisor.setMessage(step.app, step.service, err.message);
      else if (step.action === 'fetchImage') for (const s of step.services) this.o.supervisor.setMessage(s.app, s.service, err.message);
      throw err;
    } finally {
      if (on) this.o.supervisor.busy(on.app, on.service, false);
    }
  }

  private async run(step: Step, signal: AbortSignal): Promise<void> {
    const { engine, supervisor: sup } = this.o;
    switch (step.action) {
      case 'fetchImage':
        return this.fetch(step, signal);
      case 'createNetwork':
        return engine.createNetwork(step.app, step.network, { internal: step.internal, labels: step.labels });
      case 'createVolume':
        return engine.createVolume(step.app, step.volume, step.labels);
      case 'createContainer': {
        const id = await engine.createContainer(step.app, step.service, step.spec, step.configHash, step.release);
        sup.created(step.app, step.service, id, step.release, step.spec.image);
        return;
      }
      case 'startContainer': {
        await engine.startContainer(step.containerId);
        // The engine's own start time, so a late report of the previous run is never taken for this one.
        const info = await engine.inspectContainer(step.containerId).catch(() => null);
        sup.started(step.app, step.service, step.containerId, info?.startedAt ?? undefined);
        return;
      }
      case 'stopContainer':
        sup.stopIssued(step.app, step.service, step.reason);
        await engine.stopContainer(step.containerId, step.graceMs, step.signal);
        sup.stopDone(step.app, step.service);
        return;
      case 'removeContainer':
        await engine.removeContainer(step.containerId);
        sup.removed(step.app, step.service, step.containerId, step.reason);
        return;
      case 'removeNetwork':
        return engine.removeNetwork(step.name);
      case 'removeVolume':
        return engine.removeVolume(step.name);
      case 'waitFor':
        return;
    }
  }

  private async fetch(step: Extract<Step, { action: 'fetchImage' }>, signal: AbortSignal): Promise<void> {
    const { engine, supervisor: sup } = this.o;
    let last = 0;
    const every = this.o.progressEveryMs ?? 500;
    const progress = (p: PullProgress): void => {
      const now = Date.now();
      if (now - last < every && p.done < p.total) return;
      last = now;
      for (const s of step.services) sup.setPull(s.app, s.service, p);
    };
    progress({ done: 0, total: step.bundle?.size ?? 0 });
    try {
      if (step.bundle) {
        if (!this.o.bundles) throw new Error('this agent has no way to fetch image bundles');
        await this.o.bundles.ensure(step.bundle, progress, signal);
        if (!(await engine.hasImage(step.image))) {
          throw new EngineError('image_missing', `bundle ${step.bundle.id} was loaded but holds no image ${step.image}`);
        }
      } else await engine.pullImage(step.image, progress, signal);
    } finally {
      for (const s of step.services) sup.setPull(s.app, s.service, undefined);
    }
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
