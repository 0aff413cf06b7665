import { AppSpecSchema, NAME_PATTERN, type AppSpec, type ServiceSpec } from '@pifleet/protocol';
import type { ComposeError } from '../../contract.js';
import { NETWORK_FIELDS, NETWORK_REFUSED, TOP_LEVEL_FIELDS, TOP_LEVEL_REFUSED, VOLUME_FIELDS, VOLUME_REFUSED } from './compose-fields.js';
import type { Lookup } from './interpolate.js';
import { readKeyValues } from './key-values.js';
import { MAX_COMPOSE_BYTES, MAX_SERVICES } from './limits.js';
import { child, Reader } from './reader.js';
import { readService, type ServiceRefs } from './service.js';
import { parseYamlTree, type YMap, type YNode } from './yaml-tree.js';

/**
 * parseCompose: an operator's compose file -> the normalised app (AppSpec without its release
 * number), for one device's variables. Pure: no IO, no clock; the caller supplies the variables
 * (fleet overlaid with device) and the contents of the env files. Every problem comes back as a
 * ComposeError with the field's path and line; nothing outside the documented subset is
 * silently dropped (docs/compose.md).
 */

export interface ParseComposeOptions {
  /** Variables for interpolation (the fleet's overlaid with the device's). */
  vars: Readonly<Record<string, string>>;
  /** Contents of the files `env_file` names, by the path as written in the compose file. */
  envFiles?: Readonly<Record<string, string>>;
  /** App name given with the request; wins over the file's top-level `name`. */
  name?: string;
}

/** The app as the hub stores it per device, before it is given a release number. */
export type ComposeApp = Omit<AppSpec, 'release'>;

export type ParseComposeResult = { ok: true; name: string | null; app: ComposeApp } | { ok: false; errors: ComposeError[] };

const APP_SCHEMA = AppSpecSchema.omit({ release: true });

function fail(path: string, line: number | null, message: string): ParseComposeResult {
  return { ok: false, errors: [{ path, line, message }] };
}

function nameError(kind: string, name: string): string {
  return `${kind} name ${JSON.stringify(name.slice(0, 80))} must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`;
}

export function parseCompose(text: string, opts: ParseComposeOptions): ParseComposeResult {
  if (typeof text !== 'string') return fail('', null, 'the compose file must be text');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_COMPOSE_BYTES) return fail('', null, `the compose file is ${Math.ceil(bytes / 1024)} KiB; at most ${MAX_COMPOSE_BYTES / 1024} KiB is accepted`);
  const tree = parseYamlTree(text);
  if (!tree.ok) return { ok: false, errors: tree.errors.map((e) => ({ ...e })) };
  const root = tree.root;
  if (root.kind === 'scalar' && root.value === null) return fail('', null, 'the compose file is empty');
  if (root.kind !== 'map') return fail('', root.line, 'the compose file must be a YAML mapping with services');

  const vars = opts.vars;
  const lookup: Lookup = (name) => (Object.hasOwn(vars, name) && typeof vars[name] === 'string' ? vars[name] : undefined);
  const r = new Reader(lookup);
  const f = r.fields(root, '', TOP_LEVEL_FIELDS, { refuse: TOP_LEVEL_REFUSED });
  const topExtension = root.entries.find((e) => e.key === 'x-pifleet');
  if (topExtension) r.error('x-pifleet', topExtension.line, 'x-pifleet belongs inside a service (services.<name>.x-pifleet)');

  let name: string | null = null;
  if (opts.name !== undefined) {
    if (NAME_PATTERN.test(opts.name)) name = opts.name;
    else r.error('name', null, nameError('app', opts.name));
  } else {
    const n = f.get('name');
    if (n) {
      const value = r.optionalText(n.value, 'name', 'an app name');
      if (value !== undefined && NAME_PATTERN.test(value)) name = value;
      else if (value !== undefined) r.error('name', n.line, nameError('app', value));
    }
  }

  const volumes = readTopVolumes(r, f.get('volumes')?.value, lookup);
  const networks = readTopNetworks(r, f.get('networks')?.value, lookup);

  const services: Record<string, ServiceSpec> = {};
  const refs = new Map<string, ServiceRefs>();
  const servicesEntry = f.get('services');
  const servicesMap = servicesEntry ? r.map(servicesEntry.value, 'services') : undefined;
  if (!servicesEntry) r.error('services', null, 'services is required');
  else if (servicesMap && servicesMap.entries.length === 0) r.error('services', servicesEntry.line, 'at least one service is required');
  else if (servicesMap && servicesMap.entries.length > MAX_SERVICES) {
    r.error('services', servicesEntry.line, `${servicesMap.entries.length} services; an app may have at most ${MAX_SERVICES}`);
  } else if (servicesMap) {
    const envFiles = opts.envFiles ?? {};
    for (const e of servicesMap.entries) {
      const path = child('services', e.key);
      if (!NAME_PATTERN.test(e.key)) {
        r.error(path, e.line, nameError('service', e.key));
        continue;
      }
      const result = readService(r, e.key, e.line, e.value, path, { envFiles, lookup });
      refs.set(e.key, result.refs);
      if (result.spec) services[e.key] = result.spec;
    }
  }

  checkReferences(r, refs, volumes, networks);
  if (r.errorCount > 0) return { ok: false, errors: r.result() };

  const app = APP_SCHEMA.safeParse({ services, volumes, networks });
  if (!app.success) {
    // The readers above enforce these bounds first; reaching this is a bug, reported rather than thrown.
    return { ok: false, errors: app.error.issues.map((i) => ({ path: i.path.join('.'), line: null, message: i.message })) };
  }
  return { ok: true, name, app: app.data };
}

function labelsOf(r: Reader, map: YMap, path: string, lookup: Lookup): Record<string, string> | undefined {
  const e = map.entries.find((x) => x.key === 'labels');
  if (!e) return {};
  const labels = readKeyValues(r, e.value, child(path, 'labels'), 'labels', lookup);
  return labels ? Object.fromEntries(labels) : undefined;
}

function readTopVolumes(r: Reader, node: YNode | undefined, lookup: Lookup): ComposeApp['volumes'] {
  const out: ComposeApp['volumes'] = {};
  if (!node || (node.kind === 'scalar' && node.value === null)) return out;
  const map = r.map(node, 'volumes');
  if (!map) return out;
  for (const e of map.entries) {
    const path = child('volumes', e.key);
    if (!NAME_PATTERN.test(e.key)) {
      r.error(path, e.line, nameError('volume', e.key));
      continue;
    }
    if (e.value.kind === 'scalar' && e.value.value === null) {
      out[e.key] = { labels: {} };
      continue;
    }
    const v = r.map(e.value, path);
    if (!v) continue;
    r.fields(v, path, VOLUME_FIELDS, { refuse: VOLUME_REFUSED, where: 'a volume' });
    const labels = labelsOf(r, v, path, lookup);
    if (labels) out[e.key] = { labels };
  }
  return out;
}

function readTopNetworks(r: Reader, node: YNode | undefined, lookup: Lookup): ComposeApp['networks'] {
  const out: ComposeApp['networks'] = {};
  if (!node || (node.kind === 'scalar' && node.value === null)) return out;
  const map = r.map(node, 'networks');
  if (!map) return out;
  for (const e of map.entries) {
    const path = child('networks', e.key);
    if (!NAME_PATTERN.test(e.key)) {
      r.error(path, e.line, nameError('network', e.key));
      continue;
    }
    if (e.value.kind === 'scalar' && e.value.value === null) {
      out[e.key] = { internal: false, labels: {} };
      continue;
    }
    const v = r.map(e.value, path);
    if (!v) continue;
    const f = r.fields(v, path, NETWORK_FIELDS, { refuse: NETWORK_REFUSED, where: 'a network' });
    const driver = f.get('driver');
    if (driver) {
      const d = r.optionalText(driver.value, child(path, 'driver'));
      if (d !== undefined && d !== 'bridge') r.error(child(path, 'driver'), driver.line, `network driver ${JSON.stringify(d)} is not supported (bridge only)`);
    }
    const internalEntry = f.get('internal');
    const internal = internalEntry ? r.bool(internalEntry.value, child(path, 'internal')) : false;
    const labels = labelsOf(r, v, path, lookup);
    if (labels && internal !== undefined) out[e.key] = { internal, labels };
  }
  return out;
}

/** What only the whole file can check: named volumes and networks declared, dependencies existing and acyclic. */
function checkReferences(r: Reader, refs: Map<string, ServiceRefs>, volumes: ComposeApp['volumes'], networks: ComposeApp['networks']): void {
  for (const [service, ref] of refs) {
    for (const v of ref.volumes) {
      if (!Object.hasOwn(volumes, v.name)) r.error(v.path, v.line, `volume ${JSON.stringify(v.name)} is not declared under the top-level volumes`);
    }
    for (const n of ref.networks) {
      if (n.name !== 'default' && !Object.hasOwn(networks, n.name)) r.error(n.path, n.line, `network ${JSON.stringify(n.name)} is not declared under the top-level networks`);
    }
    for (const d of ref.dependsOn) {
      if (d.name === service) r.error(d.path, d.line, `service ${service} cannot depend on itself`);
      else if (!refs.has(d.name)) r.error(d.path, d.line, `service ${JSON.stringify(d.name)} does not exist in this file`);
      else if (d.condition === 'service_healthy' && refs.get(d.name)!.healthcheckDisabled) {
        r.error(d.path, d.line, `${d.name} has its healthcheck disabled, so it never becomes healthy`);
      }
    }
  }
  reportCycles(r, refs);
}

function reportCycles(r: Reader, refs: Map<string, ServiceRefs>): void {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (s: string): void => {
    state.set(s, 'open');
    stack.push(s);
    for (const d of refs.get(s)!.dependsOn) {
      if (d.name === s || !refs.has(d.name)) continue;
      const st = state.get(d.name);
      if (st === 'open') {
        const cycle = [...stack.slice(stack.indexOf(d.name)), d.name];
        r.error(d.path, d.line, `dependency cycle: ${cycle.join(' -> ')}`);
      } else if (st === undefined) visit(d.name);
    }
    stack.pop();
    state.set(s, 'done');
  };
  for (const s of refs.keys()) if (!state.has(s)) visit(s);
}
