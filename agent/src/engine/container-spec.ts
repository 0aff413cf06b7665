import type Docker from 'dockerode';
import type { ServiceSpec } from '@pifleet/protocol';
import { LABELS, containerName, networkName, volumeName } from './engine.js';

/**
 * ServiceSpec -> the Docker Engine API's container create body. Pure, so every mapping rule is
 * tested without an engine. The network a container can join at create time is one; the others
 * (`connect`) are joined before it is started.
 */

export interface CreatePlan {
  name: string;
  body: Docker.ContainerCreateOptions;
  /** Further app networks to connect the created container to, each with the service name as alias. */
  connect: { network: string; aliases: string[] }[];
}

/** The app network every service joins when it names none (compose's `default`). */
export const DEFAULT_NETWORK = 'default';

const MS_TO_NS = 1_000_000;

/** Owner labels come last so a spec label can never claim or disown a container. */
export function ownerLabels(app: string, service: string, configHash: string, release: number): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.app]: app, [LABELS.service]: service, [LABELS.configHash]: configHash, [LABELS.release]: String(release) };
}

function healthcheck(h: ServiceSpec['healthcheck']): Docker.ContainerCreateOptions['Healthcheck'] {
  if (h === undefined) return undefined;
  // null disables the image's own healthcheck, as compose's `disable: true` does.
  if (h === null) return { Test: ['NONE'] };
  return { Test: h.test, Interval: h.intervalMs * MS_TO_NS, Timeout: h.timeoutMs * MS_TO_NS, Retries: h.retries, StartPeriod: h.startPeriodMs * MS_TO_NS };
}

function ports(spec: ServiceSpec): Pick<Docker.ContainerCreateOptions, 'ExposedPorts'> & { PortBindings: Docker.PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: Docker.PortMap = {};
  for (const p of spec.ports) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    if (p.published === undefined) continue;
    (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.published) });
  }
  return { ExposedPorts: exposed, PortBindings: bindings };
}

function mounts(app: string, spec: ServiceSpec): { Binds: string[]; Mounts: Docker.MountSettings[] } {
  const binds: string[] = [];
  const list: Docker.MountSettings[] = [];
  for (const m of spec.mounts) {
    if (m.type === 'volume') {
      list.push({ Type: 'volume', Source: volumeName(app, m.source), Target: m.target, ReadOnly: m.readOnly });
    } else if (m.source.includes(':') || m.target.includes(':')) {
      // `Binds` splits on ':'; a path holding one needs the Mounts form (which wants the host path to exist).
      list.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly });
    } else {
      // `Binds` creates a missing host directory, as `docker run -v` and compose do.
      binds.push(`${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);
    }
  }
  return { Binds: binds, Mounts: list };
}

function tmpfs(spec: ServiceSpec): Record<string, string> | undefined {
  if (spec.tmpfs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const t of spec.tmpfs) {
    const i = t.indexOf(':');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

/** NetworkMode and the networks to join: an explicit mode, else the app's networks (its `default` when none). */
function networking(app: string, service: string, spec: ServiceSpec): { mode: string; endpoints?: Docker.EndpointsConfig; connect: CreatePlan['connect'] } {
  const mode = spec.networkMode;
  if (mode !== undefined) {
    if (mode.startsWith('service:')) return { mode: `container:${containerName(app, mode.slice('service:'.length))}`, connect: [] };
    // host, none, bridge (and anything else the engine may know) pass as they are.
    return { mode, connect: [] };
  }
  const nets = (spec.networks.length > 0 ? spec.networks : [DEFAULT_NETWORK]).map((n) => networkName(app, n));
  // The service name as alias on every network: services reach each other by name, as in compose.
  const aliases = [service];
  const first = nets[0]!;
  return { mode: first, endpoints: { [first]: { Aliases: aliases } }, connect: nets.slice(1).map((network) => ({ network, aliases })) };
}

export function createPlan(app: string, service: string, spec: ServiceSpec, configHash: string, release: number): CreatePlan {
  const net = networking(app, service, spec);
  const { ExposedPorts, PortBindings } = ports(spec);
  const { Binds, Mounts } = mounts(app, spec);
  const body: Docker.ContainerCreateOptions = {
    Image: spec.image,
    Cmd: spec.command,
    Entrypoint: spec.entrypoint,
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels, ...ownerLabels(app, service, configHash, release) },
    ExposedPorts,
    Healthcheck: healthcheck(spec.healthcheck),
    StopSignal: spec.stopSignal,
    StopTimeout: Math.ceil(spec.stopGraceMs / 1000),
    User: spec.user,
    WorkingDir: spec.workingDir,
    HostConfig: {
      PortBindings,
      Binds,
      Mounts,
      Tmpfs: tmpfs(spec),
      Memory: spec.memLimitBytes,
      NanoCpus: spec.nanoCpus,
      NetworkMode: net.mode,
      Privileged: spec.privileged,
      Devices: spec.devices.map((d) => ({ PathOnHost: d.host, PathInContainer: d.container, CgroupPermissions: d.permissions })),
      CapAdd: spec.capAdd,
      CapDrop: spec.capDrop,
      Init: spec.init,
      // The agent supervises restarts itself (backoff, crash loops, operator pauses); an engine
      // restarting the container behind its back would defeat all of that.
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    },
    NetworkingConfig: net.endpoints ? { EndpointsConfig: net.endpoints } : undefined,
  };
  return { name: containerName(app, service), body: dropUndefined(body), connect: net.connect };
}

/** JSON.stringify would drop them too; dropping them here keeps test expectations exact. */
function dropUndefined<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) delete (o as Record<string, unknown>)[k];
    else if (v && typeof v === 'object' && !Array.isArray(v) && k === 'HostConfig') dropUndefined(v as object);
  }
  return o;
}
