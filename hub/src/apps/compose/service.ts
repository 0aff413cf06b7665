import { ServiceSpecSchema, type HealthcheckSpec, type ServiceSpec, type ServiceSpecInput } from '@pifleet/protocol';
import { SERVICE_FIELDS, SERVICE_REFUSED } from './compose-fields.js';
import { readDurationMs, readHealthcheck } from './healthcheck.js';
import { readKeyValues } from './key-values.js';
import { checkMountTargets, readTmpfs, readVolumes, type MountItem } from './mounts.js';
import { readPorts } from './ports.js';
import { at, child, type Reader } from './reader.js';
import {
  readCapabilities,
  readCommand,
  readCpus,
  readDependsOn,
  readDevices,
  readEnvFiles,
  readImage,
  readMemory,
  readNetworkMode,
  readRestart,
  readServiceNetworks,
  readStopSignal,
  readSupervision,
  readWorkingDir,
  type DependsRef,
  type EnvFileContext,
  type NetworkRef,
} from './service-fields.js';
import type { YEntry, YMap, YNode } from './yaml-tree.js';

/**
 * One `services.<name>` entry -> ServiceSpec, plus the references to other parts of the file
 * (volumes, networks, services) that only the whole file can check.
 */

export interface ServiceRefs {
  volumes: { name: string; path: string; line: number | null }[];
  networks: NetworkRef[];
  dependsOn: DependsRef[];
  networkMode?: { service?: string; path: string; line: number | null };
  /** Whether the service turns its healthcheck off (then nothing may wait for it to be healthy). */
  healthcheckDisabled: boolean;
}

export interface ServiceResult {
  /** Absent when a field had an error (the errors are in the reader). */
  spec?: ServiceSpec;
  refs: ServiceRefs;
}

const DEPLOY_REFUSED: Readonly<Record<string, string>> = {
  replicas: 'pifleet runs one container per service',
  mode: 'pifleet runs one container per service',
  restart_policy: 'use restart, and x-pifleet for retry limits',
  placement: 'choose devices with the fleet and per-device releases',
  update_config: '',
  rollback_config: 'roll back with the release history',
  endpoint_mode: '',
  labels: 'use labels on the service',
};

/** Which compose field a ServiceSpec field comes from, to give schema errors a line. */
const SOURCE_FIELD: Partial<Record<keyof ServiceSpec, string>> = {
  environment: 'environment',
  mounts: 'volumes',
  memLimitBytes: 'mem_limit',
  nanoCpus: 'cpus',
  stopGraceMs: 'stop_grace_period',
  stopSignal: 'stop_signal',
  dependsOn: 'depends_on',
  networkMode: 'network_mode',
  capAdd: 'cap_add',
  capDrop: 'cap_drop',
  workingDir: 'working_dir',
  supervision: 'x-pifleet',
};

export function readService(r: Reader, name: string, keyLine: number | null, node: YNode, path: string, ctx: EnvFileContext): ServiceResult {
  const refs: ServiceRefs = { volumes: [], networks: [], dependsOn: [], healthcheckDisabled: false };
  const map = r.map(node, path);
  if (!map) return { refs };
  const before = r.errorCount;
  for (const e of map.entries) {
    if (e.key !== 'x-pifleet' && /^x[-_]?pi[-_]?fleet$/i.test(e.key)) r.error(child(path, e.key), e.line, `unknown extension ${e.key} (did you mean x-pifleet?)`);
  }
  const f = r.fields(map, path, SERVICE_FIELDS, { refuse: SERVICE_REFUSED });
  const spec: ServiceSpecInput = { image: '' };
  const get = (key: string): YEntry | undefined => {
    const e = f.get(key);
    // An empty value (`command:`) means "not set", as in Compose.
    return e && !(e.value.kind === 'scalar' && e.value.value === null) ? e : undefined;
  };
  const p = (key: string) => child(path, key);

  const image = get('image');
  if (!image) r.error(p('image'), f.get('image')?.line ?? keyLine, `service ${name} needs an image (pifleet does not build images)`);
  else spec.image = readImage(r, image.value, p('image')) ?? '';

  for (const key of ['command', 'entrypoint'] as const) {
    const e = get(key);
    if (e) spec[key] = readCommand(r, e.value, p(key));
  }

  // environment wins over env_file; both are read so that env files can refer to environment.
  const envEntry = get('environment');
  const environment = envEntry ? readKeyValues(r, envEntry.value, p('environment'), 'environment', ctx.lookup) : new Map<string, string>();
  const envFileEntry = get('env_file');
  const fromFiles = envFileEntry ? readEnvFiles(r, envFileEntry.value, p('env_file'), ctx, environment ?? new Map()) : new Map<string, string>();
  if (environment && fromFiles) spec.environment = Object.fromEntries([...fromFiles, ...environment]);

  const ports = get('ports');
  if (ports) spec.ports = readPorts(r, ports.value, p('ports'));

  const mounts: MountItem[] = [];
  const volumes = get('volumes');
  if (volumes) {
    const items = readVolumes(r, volumes.value, p('volumes'));
    if (items) mounts.push(...items);
  }
  const tmpfs = get('tmpfs');
  if (tmpfs) {
    const items = readTmpfs(r, tmpfs.value, p('tmpfs'));
    if (items) mounts.push(...items);
  }
  checkMountTargets(r, mounts);
  spec.mounts = mounts.flatMap((m) => (m.mount ? [m.mount] : []));
  spec.tmpfs = mounts.flatMap((m) => (m.tmpfs ? [m.tmpfs] : []));
  for (const m of mounts) if (m.mount?.type === 'volume') refs.volumes.push({ name: m.mount.source, path: m.path, line: m.line });

  const labels = get('labels');
  if (labels) {
    const l = readKeyValues(r, labels.value, p('labels'), 'labels', ctx.lookup);
    if (l) spec.labels = Object.fromEntries(l);
  }

  const restart = get('restart');
  if (restart) spec.restart = readRestart(r, restart.value, p('restart'));

  const healthcheck = get('healthcheck');
  if (healthcheck) {
    const h = readHealthcheck(r, healthcheck.value, p('healthcheck'));
    if (h) {
      spec.healthcheck = h.value as HealthcheckSpec | null;
      refs.healthcheckDisabled = h.value === null;
    }
  }

  const stopSignal = get('stop_signal');
  if (stopSignal) spec.stopSignal = readStopSignal(r, stopSignal.value, p('stop_signal'));
  const grace = get('stop_grace_period');
  if (grace) spec.stopGraceMs = readDurationMs(r, grace.value, p('stop_grace_period'), 3_600_000);

  const memLimit = get('mem_limit');
  const mem = memLimit ? readMemory(r, memLimit.value, p('mem_limit')) : { value: undefined };
  const cpusEntry = get('cpus');
  const cpus = cpusEntry ? readCpus(r, cpusEntry.value, p('cpus')) : { value: undefined };
  const deploy = get('deploy');
  const limits = deploy ? readDeploy(r, deploy.value, p('deploy')) : {};
  if (mem && limits.memory) {
    if (mem.value !== undefined && limits.memory.value !== undefined && mem.value !== limits.memory.value) {
      r.error(p('mem_limit'), memLimit!.line, 'mem_limit and deploy.resources.limits.memory differ; set one');
    }
    spec.memLimitBytes = mem.value ?? limits.memory.value;
  } else if (mem) spec.memLimitBytes = mem.value;
  if (cpus && limits.cpus) {
    if (cpus.value !== undefined && limits.cpus.value !== undefined && cpus.value !== limits.cpus.value) {
      r.error(p('cpus'), cpusEntry!.line, 'cpus and deploy.resources.limits.cpus differ; set one');
    }
    spec.nanoCpus = cpus.value ?? limits.cpus.value;
  } else if (cpus) spec.nanoCpus = cpus.value;

  const dependsOn = get('depends_on');
  if (dependsOn) {
    const deps = readDependsOn(r, dependsOn.value, p('depends_on'));
    if (deps) refs.dependsOn.push(...deps);
  }

  const networkMode = get('network_mode');
  if (networkMode) {
    const nm = readNetworkMode(r, networkMode.value, p('network_mode'));
    if (nm) {
      spec.networkMode = nm.mode;
      refs.networkMode = { service: nm.service, path: p('network_mode'), line: networkMode.line };
      // Compose starts the service whose network stack this one shares first.
      if (nm.service && !refs.dependsOn.some((d) => d.name === nm.service)) {
        refs.dependsOn.push({ name: nm.service, condition: 'service_started', path: p('network_mode'), line: networkMode.line });
      }
    }
  }
  const networks = get('networks');
  if (networks) {
    const n = readServiceNetworks(r, networks.value, p('networks'));
    if (n) {
      refs.networks.push(...n);
      spec.networks = n.map((x) => x.name);
    }
    if (networkMode) r.error(p('networks'), networks.line, 'networks and network_mode cannot be set together');
  }
  if (networkMode && spec.networkMode !== 'bridge' && (spec.ports?.length ?? 0) > 0) {
    r.error(p('ports'), get('ports')!.line, `ports cannot be published with network_mode ${spec.networkMode}${spec.networkMode === 'host' ? ' (the service uses the device\'s ports directly)' : ''}`);
  }

  for (const key of ['privileged', 'init'] as const) {
    const e = get(key);
    if (e) spec[key] = r.bool(e.value, p(key));
  }
  const devices = get('devices');
  if (devices) spec.devices = readDevices(r, devices.value, p('devices'));
  for (const [key, field] of [
    ['cap_add', 'capAdd'],
    ['cap_drop', 'capDrop'],
  ] as const) {
    const e = get(key);
    if (e) spec[field] = readCapabilities(r, e.value, p(key));
  }
  const user = get('user');
  if (user) spec.user = r.text(user.value, p('user'), 'a user name or uid[:gid]');
  const workingDir = get('working_dir');
  if (workingDir) spec.workingDir = readWorkingDir(r, workingDir.value, p('working_dir'));

  const supervision = f.get('x-pifleet');
  if (supervision) spec.supervision = readSupervision(r, supervision.value, p('x-pifleet'));

  if (r.errorCount > before) return { refs };
  // Field readers returned values; the shared schema fills the defaults and holds the final bounds.
  spec.dependsOn = Object.fromEntries(refs.dependsOn.map((d) => [d.name, d.condition]));
  const parsed = ServiceSpecSchema.safeParse(dropUndefined(spec));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      const composeField = SOURCE_FIELD[field as keyof ServiceSpec] ?? field;
      const entry = f.get(composeField);
      const where = issue.path.slice(1).reduce<string>((acc, seg) => (typeof seg === 'number' ? at(acc, seg) : child(acc, String(seg))), p(composeField));
      r.error(where, entry?.line ?? map.line, issue.message);
    }
    return { refs };
  }
  return { spec: parsed.data, refs };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `deploy:`, of which only resources.limits.memory / cpus mean something here. */
function readDeploy(r: Reader, node: YNode, path: string): { memory?: { value: number | undefined }; cpus?: { value: number | undefined } } {
  const deploy = r.map(node, path);
  if (!deploy) return {};
  const f = r.fields(deploy, path, ['resources'], { refuse: DEPLOY_REFUSED, where: 'deploy (only resources.limits.memory and cpus are supported)' });
  const res = f.get('resources');
  if (!res) return {};
  const rp = child(path, 'resources');
  const resources: YMap | undefined = r.map(res.value, rp);
  if (!resources) return {};
  const rf = r.fields(resources, rp, ['limits'], { refuse: { reservations: 'reservations only matter to a scheduler' }, where: 'deploy.resources' });
  const lim = rf.get('limits');
  if (!lim) return {};
  const lp = child(rp, 'limits');
  const limits = r.map(lim.value, lp);
  if (!limits) return {};
  const lf = r.fields(limits, lp, ['memory', 'cpus'], { refuse: { pids: '', devices: '' }, where: 'deploy.resources.limits' });
  const out: { memory?: { value: number | undefined }; cpus?: { value: number | undefined } } = {};
  const memory = lf.get('memory');
  if (memory) out.memory = readMemory(r, memory.value, child(lp, 'memory'));
  const cpus = lf.get('cpus');
  if (cpus) out.cpus = readCpus(r, cpus.value, child(lp, 'cpus'));
  return out;
}
