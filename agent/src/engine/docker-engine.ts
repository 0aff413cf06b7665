import type Docker from 'dockerode';
import { Dockerode } from './dockerode-lean.js';
import type { ServiceSpec } from '@pifleet/protocol';
import { createPlan } from './container-spec.js';
import { isManaged, toManagedContainer } from './container-state.js';
import { describeAddress, findEngine, type EngineAddress } from './discovery.js';
import {
  EngineError,
  LABELS,
  networkName,
  volumeName,
  type Engine,
  type EngineEvent,
  type ManagedContainer,
  type ManagedNetwork,
  type ManagedVolume,
  type PullProgress,
} from './engine.js';
import { statusOf, toEngineError, type EngineOp } from './errors.js';
import { watchEvents } from './event-watch.js';
import { PullTracker, loadedRefs, streamError } from './image-progress.js';
import { jsonLines } from './json-lines.js';
import { MAX_TAIL_LINES, tailOf } from './log-tail.js';
import { PodmanHealthDriver } from './podman-health.js';

/**
 * The Engine over the Docker Engine API (dockerode): Docker itself, or Podman's compatible
 * service. Every difference between the two stays in this folder; those met so far:
 *
 * - Podman reports State.Status `stopped` (and `configured`, `stopping`) where Docker has
 *   `exited` (`created`, `running`): container-state.ts maps them.
 * - Podman's event actions and health fields differ: event-normalise.ts.
 * - Podman runs healthchecks from systemd timers only: without systemd this adapter runs them
 *   (podman-health.ts).
 * - Podman's `POST /images/create?fromSrc=-` (import) ignores `tag`: whoever imports tags after.
 * - Podman answers an exec resize with 201, which dockerode treats as an error, and an attach
 *   with stdin open lets the attach request's JSON leak into the container's stdin. The Engine
 *   has neither on purpose; a future remote shell should use exec, and accept 201 on resize.
 */

const SELF_FILTER = { label: [`${LABELS.managed}=true`] };

export interface DockerEngineOptions {
  /** Where the engine listens; default: findEngine(env). */
  address?: EngineAddress;
  env?: NodeJS.ProcessEnv;
  /** Run healthchecks from the adapter when the engine is Podman (see podman-health.ts). Default true. */
  podmanHealthchecks?: boolean;
  /** Where background failures (a healthcheck run, a throwing watch handler) are reported. */
  onBackgroundError?(err: unknown): void;
}

function dockerodeOptions(a: EngineAddress): Docker.DockerOptions {
  if (a.kind === 'unix') return { socketPath: a.socketPath };
  return a.tls ? { host: a.host, port: a.port, protocol: 'https', ca: a.tls.ca, cert: a.tls.cert, key: a.tls.key } : { host: a.host, port: a.port, protocol: 'http' };
}

/** A ref with neither tag nor digest means `:latest`; the API would otherwise pull every tag. */
export function withTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') ? ref : `${ref}:latest`;
}

export class DockerEngine implements Engine {
  readonly address: EngineAddress;
  private readonly docker: Docker;
  private flavour?: Promise<{ podman: boolean; apiVersion: string }>;
  private health?: PodmanHealthDriver;
  private readonly opts: DockerEngineOptions;

  constructor(opts: DockerEngineOptions = {}) {
    this.opts = opts;
    this.address = opts.address ?? findEngine(opts.env ?? process.env);
    this.docker = new Dockerode(dockerodeOptions(this.address));
  }

  /** Stops background work (the Podman healthcheck timers). The engine stays usable. */
  close(): void {
    this.health?.stop();
    this.health = undefined;
  }

  private fail(err: unknown, op: EngineOp, what: string): never {
    throw toEngineError(err, op, what);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      // Whatever keeps ping from answering means the engine cannot be used.
      const e = toEngineError(err, 'other', `ping ${describeAddress(this.address)}`);
      throw e.code === 'engine_down' ? e : new EngineError('engine_down', e.message, { cause: err });
    }
  }

  /** Whether the engine is Podman, from /version (asked once; asked again after a failure). */
  private engineFlavour(): Promise<{ podman: boolean; apiVersion: string }> {
    this.flavour ??= this.docker.version().then(
      (v) => {
        const pod = (v.Components ?? []).find((c) => /podman/i.test(c.Name));
        const details = (pod?.Details ?? {}) as { APIVersion?: unknown };
        return { podman: !!pod, apiVersion: typeof details.APIVersion === 'string' ? details.APIVersion : (pod?.Version ?? v.Version) };
      },
      (err: unknown) => {
        this.flavour = undefined;
        throw err;
      },
    );
    return this.flavour;
  }

  /** Hands a running container to the Podman healthcheck driver, when there is one. */
  private async driveHealth(id: string, info?: Docker.ContainerInspectInfo): Promise<void> {
    if (this.opts.podmanHealthchecks === false) return;
    try {
      const f = await this.engineFlavour();
      if (!f.podman) return;
      this.health ??= new PodmanHealthDriver(this.docker, f.apiVersion, (e) => this.opts.onBackgroundError?.(e));
      await this.health.track(id, info);
    } catch (err) {
      this.opts.onBackgroundError?.(err);
    }
  }

  /** The raw inspect of a pifleet-owned container; null when gone or not pifleet's. */
  private async ownedInfo(id: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      const info = await this.docker.getContainer(id).inspect();
      return isManaged(info.Config?.Labels) ? info : null;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      this.fail(err, 'other', `inspect container ${id}`);
    }
  }

  private async mustOwn(id: string, what: string): Promise<Docker.ContainerInspectInfo> {
    const info = await this.ownedInfo(id);
    if (!info) throw new EngineError('not_found', `${what} ${id}: no such pifleet container`);
    return info;
  }

  async listContainers(): Promise<ManagedContainer[]> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: true, filters: SELF_FILTER });
    } catch (err) {
      this.fail(err, 'other', 'list containers');
    }
    const out: ManagedContainer[] = [];
    // Inspect each one: the list lacks exit code, OOM flag, health and finish time. A Pi runs
    // few containers, so one after another is fine and spares the engine a burst.
    for (const c of list) {
      if (!isManaged(c.Labels)) continue;
      const info = await this.ownedInfo(c.Id);
      const m = info && toManagedContainer(info);
      if (!m) continue;
      out.push(m);
      if (m.status === 'running' && m.health) await this.driveHealth(m.id, info);
    }
    return out;
  }

  async inspectContainer(id: string): Promise<ManagedContainer | null> {
    const info = await this.ownedInfo(id);
    const m = info && toManagedContainer(info);
    if (m && m.status === 'running' && m.health) await this.driveHealth(m.id, info);
    return m;
  }

  async createContainer(app: string, service: string, spec: ServiceSpec, configHash: string, release: number): Promise<string> {
    const plan = createPlan(app, service, spec, configHash, release);
    let id: string;
    try {
      id = (await this.docker.createContainer({ name: plan.name, ...plan.body })).id;
    } catch (err) {
      this.fail(err, 'create', `create ${plan.name}`);
    }
    try {
      for (const n of plan.connect) await this.docker.getNetwork(n.network).connect({ Container: id, EndpointConfig: { Aliases: n.aliases } });
    } catch (err) {
      // A half-connected container would start on fewer networks than its spec says.
      await this.docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
      this.fail(err, 'create', `connect ${plan.name} to its networks`);
    }
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const info = await this.mustOwn(id, 'start');
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      // 304: already running, which is what was asked for.
      if (statusOf(err) !== 304) this.fail(err, 'start', `start ${info.Name.replace(/^\//, '')}`);
    }
    await this.driveHealth(id);
  }

  async stopContainer(id: string, graceMs: number, signal?: string): Promise<void> {
    await this.mustOwn(id, 'stop');
    const c = this.docker.getContainer(id);
    this.health?.untrack(id);
    try {
      if (!signal) {
        // The engine sends the container's StopSignal, waits t seconds, then SIGKILL.
        await c.stop({ t: Math.ceil(graceMs / 1000) });
        return;
      }
      // A signal other than the container's own: send it, wait out the grace, then SIGKILL.
      await c.kill({ signal });
      if (await this.exitedWithin(id, graceMs)) return;
      await c.kill({ signal: 'SIGKILL' });
      await this.exitedWithin(id, 10_000);
    } catch (err) {
      const s = statusOf(err);
      // 304 (Docker) and 409 "not running" (kill): the container is already stopped.
      if (s === 304 || s === 409) return;
      if (s === 404) return;
      this.fail(err, 'other', `stop ${id}`);
    }
  }

  /** Polls until the container is not running; true if it stopped within `ms`. */
  private async exitedWithin(id: string, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    for (;;) {
      const info = await this.docker
        .getContainer(id)
        .inspect()
        .catch((err: unknown) => (statusOf(err) === 404 ? null : Promise.reject(err as Error)));
      if (!info || !info.State.Running) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, end - Date.now()))));
    }
  }

  async removeContainer(id: string): Promise<void> {
    const info = await this.ownedInfo(id);
    if (!info) {
      // Gone already is what was asked for; someone else's container is never touched.
      if (await this.exists(id)) throw new EngineError('not_found', `remove ${id}: no such pifleet container`);
      return;
    }
    this.health?.untrack(id);
    try {
      // v: the container's anonymous volumes (an image's VOLUME) go with it instead of piling up
      // on the Pi's card; the app's named volumes are separate objects and stay.
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if (statusOf(err) !== 404) this.fail(err, 'other', `remove ${info.Name.replace(/^\//, '')}`);
    }
  }

  private async exists(id: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      this.fail(err, 'other', `inspect container ${id}`);
    }
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    const info = await this.mustOwn(id, 'logs of');
    const n = Math.min(Math.max(0, Math.floor(lines)), MAX_TAIL_LINES);
    if (n === 0) return [];
    try {
      // As a stream, not dockerode's buffered answer: memory stays bounded by the tail.
      const stream = await this.dialStream(`/containers/${encodeURIComponent(id)}/logs?`, { stdout: true, stderr: true, follow: false, tail: n });
      return await tailOf(stream, n, info.Config?.Tty === true);
    } catch (err) {
      this.fail(err, 'other', `logs of ${id}`);
    }
  }

  private dialStream(path: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path, method: 'GET', options, isStream: true, abortSignal: signal, statusCodes: { 200: true, 404: 'not found', 500: 'server error' } },
        (err, data) => (err ? reject(err as Error) : resolve(data as NodeJS.ReadableStream)),
      );
    });
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      this.fail(err, 'other', `inspect image ${ref}`);
    }
  }

  async pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const full = withTag(ref);
    signal?.throwIfAborted();
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.createImage({ fromImage: full, abortSignal: signal })) as NodeJS.ReadableStream;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      this.fail(err, 'pull', `pull ${full}`);
    }
    const abort = (): void => (stream as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
    signal?.addEventListener('abort', abort, { once: true });
    const tracker = new PullTracker();
    let failure: string | undefined;
    try {
      for await (const msg of jsonLines(stream)) {
        failure ??= streamError(msg);
        const p = tracker.update(msg);
        if (p && onProgress) onProgress(p);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      this.fail(err, 'pull', `pull ${full}`);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    if (signal?.aborted) throw signal.reason;
    if (failure) throw toEngineError(new Error(failure), 'pull', `pull ${full}`);
    // A stream can end without an error line and without the image (a cut connection).
    if (!(await this.hasImage(full))) throw new EngineError('image_pull_failed', `pull ${full}: the engine finished without the image`);
  }

  async loadImage(archive: NodeJS.ReadableStream): Promise<string[]> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.loadImage(archive, { quiet: true });
    } catch (err) {
      this.fail(err, 'load', 'load image archive');
    }
    const refs: string[] = [];
    let failure: string | undefined;
    try {
      for await (const msg of jsonLines(stream)) {
        failure ??= streamError(msg);
        if (typeof msg['stream'] === 'string') for (const r of loadedRefs(msg['stream'])) if (refs.length < 256 && !refs.includes(r)) refs.push(r);
      }
    } catch (err) {
      this.fail(err, 'load', 'load image archive');
    }
    if (failure) throw toEngineError(new Error(failure), 'load', 'load image archive');
    return refs;
  }

  async listVolumes(): Promise<ManagedVolume[]> {
    try {
      const r = await this.docker.listVolumes({ filters: SELF_FILTER });
      return (r.Volumes ?? []).filter((v) => isManaged(v.Labels)).map((v) => ({ name: v.Name, app: v.Labels?.[LABELS.app] ?? '' }));
    } catch (err) {
      this.fail(err, 'other', 'list volumes');
    }
  }

  async createVolume(app: string, volume: string, labels: Record<string, string>): Promise<void> {
    const name = volumeName(app, volume);
    try {
      await this.docker.createVolume({ Name: name, Labels: { ...labels, [LABELS.managed]: 'true', [LABELS.app]: app } });
    } catch (err) {
      // Docker answers an existing name with the volume, Podman with an error. Ours is fine, anyone else's is not.
      const e = toEngineError(err, 'other', `create volume ${name}`);
      if (e.code === 'conflict' && (await this.volumeOwner(name)) === app) return;
      throw e;
    }
  }

  /** The app label of a pifleet volume; undefined when absent or not pifleet's. */
  private async volumeOwner(name: string): Promise<string | undefined> {
    try {
      const v = (await this.docker.getVolume(name).inspect()) as { Labels?: Record<string, string> | null };
      return isManaged(v.Labels) ? (v.Labels?.[LABELS.app] ?? '') : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      this.fail(err, 'other', `inspect volume ${name}`);
    }
  }

  async removeVolume(name: string): Promise<void> {
    if ((await this.volumeOwner(name)) === undefined) {
      if (await this.volumeExists(name)) throw new EngineError('not_found', `remove volume ${name}: no such pifleet volume`);
      return;
    }
    try {
      await this.docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) this.fail(err, 'other', `remove volume ${name}`);
    }
  }

  private async volumeExists(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      this.fail(err, 'other', `inspect volume ${name}`);
    }
  }

  async listNetworks(): Promise<ManagedNetwork[]> {
    try {
      const list = await this.docker.listNetworks({ filters: SELF_FILTER });
      return list.filter((n) => isManaged(n.Labels)).map((n) => ({ id: n.Id, name: n.Name, app: n.Labels?.[LABELS.app] ?? '' }));
    } catch (err) {
      this.fail(err, 'other', 'list networks');
    }
  }

  async createNetwork(app: string, network: string, opts: { internal: boolean; labels: Record<string, string> }): Promise<void> {
    const name = networkName(app, network);
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: opts.internal,
        CheckDuplicate: true,
        Labels: { ...opts.labels, [LABELS.managed]: 'true', [LABELS.app]: app },
      });
    } catch (err) {
      // Docker says 409, Podman 500 "network already exists". Ours is fine, anyone else's is not.
      const e = toEngineError(err, 'other', `create network ${name}`);
      if (e.code === 'conflict' && (await this.networkOwner(name)) === app) return;
      throw e;
    }
  }

  private async networkOwner(name: string): Promise<string | undefined | null> {
    try {
      const n = (await this.docker.getNetwork(name).inspect()) as { Labels?: Record<string, string> | null };
      return isManaged(n.Labels) ? (n.Labels?.[LABELS.app] ?? '') : null;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      this.fail(err, 'other', `inspect network ${name}`);
    }
  }

  async removeNetwork(name: string): Promise<void> {
    const owner = await this.networkOwner(name);
    if (owner === undefined) return;
    if (owner === null) throw new EngineError('not_found', `remove network ${name}: no such pifleet network`);
    try {
      await this.docker.getNetwork(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) this.fail(err, 'other', `remove network ${name}`);
    }
  }

  watch(handlers: { onEvent(e: EngineEvent): void; onDown?(err: Error): void; onUp?(): void }, signal: AbortSignal): void {
    const open = async (s: AbortSignal): Promise<NodeJS.ReadableStream> => {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await this.docker.getEvents({ filters: { type: ['container'], ...SELF_FILTER }, abortSignal: s });
      } catch (err) {
        throw toEngineError(err, 'other', 'follow events');
      }
      s.addEventListener('abort', () => (stream as NodeJS.ReadableStream & { destroy?(): void }).destroy?.(), { once: true });
      return stream;
    };
    const onEvent = (e: EngineEvent): void => {
      // A container started behind the agent's back (or again) gets its healthchecks driven too.
      if (e.kind === 'start') void this.driveHealth(e.containerId);
      else if (e.kind === 'die' || e.kind === 'destroy') this.health?.untrack(e.containerId);
      handlers.onEvent(e);
    };
    void watchEvents(open, { onEvent, onDown: handlers.onDown?.bind(handlers), onUp: handlers.onUp?.bind(handlers) }, signal, {
      onHandlerError: (err) => this.opts.onBackgroundError?.(err),
    });
  }
}
