import { createHash } from 'node:crypto';
import { AppSpecSchema, type AppSpec, type ImageBundleRef, type ServiceControl } from '@pifleet/protocol';
import type { ComposeError, PlanEntry } from '../contract.js';
import { diffServiceSpecs, parseCompose, type ParseComposeResult } from './compose/index.js';

/**
 * How a device's desired state follows from the apps of its fleet: pure functions over inputs
 * the services load, so the same code computes what is stored, what a plan shows and what a
 * variables change would break.
 */

/** The body of a state-desired message without envelope and version (what device_desired.state holds). */
export interface DesiredBody {
  apps: Record<string, AppSpec>;
  controls: Record<string, Record<string, ServiceControl>>;
}

export const EMPTY_BODY: DesiredBody = { apps: {}, controls: {} };

export interface ReleaseContent {
  id: string;
  number: number;
  compose: string;
  envFiles: Record<string, string>;
  removed: boolean;
}

export interface AppInputs {
  id: string;
  name: string;
  /** The newest fleet-wide release; null when the app has only device overrides. */
  fleetRelease: ReleaseContent | null;
  /** The newest override release per device id. */
  overrides: Map<string, ReleaseContent>;
}

export interface FleetInputs {
  fleetId: string;
  vars: Record<string, string>;
  apps: AppInputs[];
  bundles: BundleIndex;
}

export interface ControlRow {
  app: string;
  service: string;
  stopped: boolean;
  pausedUntil: Date | null;
  restartSeq: number;
  resetSeq: number;
}

export interface DeviceInputs {
  id: string;
  name: string;
  vars: Record<string, string>;
  controls: ControlRow[];
  /** The state stored now, if any: an app that no longer parses for the device keeps its spec from here. */
  stored: DesiredBody | null;
}

/** An app that could not be turned into a spec for one device (a variable it needs is missing). */
export interface AppFailure {
  app: string;
  release: number;
  errors: ComposeError[];
}

/** Image bundles by normalised image reference; the newest upload wins a shared reference. */
export type BundleIndex = Map<string, ImageBundleRef>;

/**
 * `nginx`, `library/nginx:latest` and `docker.io/library/nginx:latest` name the same image, as
 * Docker reads them; a bundle made with `docker save nginx` lists it under one of these.
 */
export function normaliseRef(ref: string): string {
  let r = ref.trim();
  r = r.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  if (!r.includes('/')) r = `library/${r}`;
  const lastSlash = r.lastIndexOf('/');
  if (!r.includes('@') && !r.slice(lastSlash + 1).includes(':')) r += ':latest';
  return r;
}

/** Rows newest first, as the repository reads them. */
export function bundleIndex(rows: { id: string; refs: string[]; sha256: string; size: number }[]): BundleIndex {
  const index: BundleIndex = new Map();
  for (const b of rows) {
    for (const ref of b.refs) {
      const key = normaliseRef(ref);
      if (!index.has(key)) index.set(key, { id: b.id, sha256: b.sha256, size: b.size });
    }
  }
  return index;
}

/** Most results one cache keeps: one computation's distinct (release, variables) pairs. */
const MAX_CACHED = 2000;

/**
 * Parses and specs are shared by every device with the same release and variables (most of a
 * fleet): one computation parses each distinct pair once. The specs handed out are shared
 * objects, never to be modified. One cache serves one computation (its bundles are fixed).
 */
export class ParseCache {
  private readonly parses = new Map<string, ParseComposeResult>();
  private readonly specs = new Map<string, SpecResult>();

  /** `name` absent: the app is named by the file's own top-level `name`. */
  parse(release: ReleaseContent, name: string | undefined, vars: Record<string, string>, key = varsKey(vars)): ParseComposeResult {
    const k = `${release.id}\0${name ?? ''}\0${key}`;
    let r = this.parses.get(k);
    if (!r) bounded(this.parses).set(k, (r = parseCompose(release.compose, { vars, envFiles: release.envFiles, name })));
    return r;
  }

  spec(release: ReleaseContent, name: string, vars: Record<string, string>, bundles: BundleIndex, key = varsKey(vars)): SpecResult {
    const k = `${release.id}\0${name}\0${key}`;
    let r = this.specs.get(k);
    if (!r) bounded(this.specs).set(k, (r = checkedSpec(release, this.parse(release, name, vars, key), bundles)));
    return r;
  }
}

function bounded<V>(m: Map<string, V>): Map<string, V> {
  if (m.size >= MAX_CACHED) m.delete(m.keys().next().value as string);
  return m;
}

export function varsKey(vars: Record<string, string>): string {
  const sorted = Object.keys(vars)
    .sort()
    .map((k) => [k, vars[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url');
}

export function mergeVars(fleet: Record<string, string>, device: Record<string, string>): Record<string, string> {
  return { ...fleet, ...device };
}

/** The release in force for a device: its override if it has one, else the fleet's. */
export function releaseFor(app: AppInputs, deviceId: string): ReleaseContent | null {
  return app.overrides.get(deviceId) ?? app.fleetRelease;
}

export type SpecResult = { ok: true; spec: AppSpec | null } | { ok: false; errors: ComposeError[] };

/**
 * The app spec one release gives under these variables: null for a removal, the parsed and
 * schema-checked spec with its release number and bundles otherwise.
 */
export function specFor(release: ReleaseContent, name: string, vars: Record<string, string>, bundles: BundleIndex, cache: ParseCache, key?: string): SpecResult {
  if (release.removed) return { ok: true, spec: null };
  return cache.spec(release, name, vars, bundles, key);
}

function checkedSpec(release: ReleaseContent, parsed: ParseComposeResult, bundles: BundleIndex): SpecResult {
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  // The parser's output is checked against the protocol's schema, so a device is never sent a
  // spec its agent would refuse.
  const checked = AppSpecSchema.safeParse({ ...parsed.app, release: release.number });
  if (!checked.success) {
    return {
      ok: false,
      errors: checked.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), line: null, message: i.message })),
    };
  }
  const spec = checked.data;
  for (const svc of Object.values(spec.services)) {
    const bundle = bundles.get(normaliseRef(svc.image));
    if (bundle) svc.bundle = bundle;
  }
  return { ok: true, spec };
}

/** One device's desired state, and the apps that could not be computed for it. */
export function computeDevice(fleet: FleetInputs, device: DeviceInputs, cache: ParseCache): { body: DesiredBody; failures: AppFailure[] } {
  const vars = mergeVars(fleet.vars, device.vars);
  const key = varsKey(vars);
  const apps: Record<string, AppSpec> = {};
  const failures: AppFailure[] = [];
  for (const app of fleet.apps) {
    const release = releaseFor(app, device.id);
    if (!release) continue;
    const r = specFor(release, app.name, vars, fleet.bundles, cache, key);
    if (r.ok) {
      if (r.spec) apps[app.name] = r.spec;
      continue;
    }
    failures.push({ app: app.name, release: release.number, errors: r.errors });
    // What the device runs now is kept rather than torn down for a variable it lacks.
    const previous = device.stored?.apps[app.name];
    if (previous) apps[app.name] = previous;
  }
  return { body: { apps, controls: controlsFor(apps, device.controls) }, failures };
}

function isDefault(c: ControlRow): boolean {
  return !c.stopped && c.pausedUntil === null && c.restartSeq === 0 && c.resetSeq === 0;
}

/** Controls of services that exist, leaving out those with nothing in force. */
export function controlsFor(apps: Record<string, AppSpec>, rows: ControlRow[]): DesiredBody['controls'] {
  const out: DesiredBody['controls'] = {};
  for (const c of [...rows].sort((a, b) => (a.app + '/' + a.service).localeCompare(b.app + '/' + b.service))) {
    if (!apps[c.app]?.services[c.service] || isDefault(c)) continue;
    const control: ServiceControl = { stopped: c.stopped, restartSeq: c.restartSeq, resetSeq: c.resetSeq };
    if (c.pausedUntil) control.pausedUntil = c.pausedUntil.getTime();
    (out[c.app] ??= {})[c.service] = control;
  }
  return out;
}

/** What moving one app of one device from `current` to `next` does to each of its services. */
export function planFor(device: string, app: string, current: AppSpec | undefined, next: AppSpec | null | undefined): PlanEntry[] {
  const out: PlanEntry[] = [];
  const before = current?.services ?? {};
  const after = next?.services ?? {};
  for (const name of Object.keys(after).sort()) {
    const was = before[name];
    if (!was) {
      out.push({ device, app, service: name, change: 'create' });
      continue;
    }
    const fields = diffServiceSpecs(was, after[name]!);
    out.push(fields.length ? { device, app, service: name, change: 'recreate', fields } : { device, app, service: name, change: 'unchanged' });
  }
  for (const name of Object.keys(before).sort()) {
    if (!after[name]) out.push({ device, app, service: name, change: 'remove' });
  }
  return out;
}

/** Most devices one error names; the rest are counted. */
const NAMED_DEVICES = 5;

/**
 * Per-device parse failures as one ComposeError[]: the same error on several devices is listed
 * once, naming the devices it concerns unless it concerns all of them.
 */
export function groupErrors(perDevice: { device: string; errors: ComposeError[] }[], total: number): ComposeError[] {
  const groups = new Map<string, { error: ComposeError; devices: string[] }>();
  for (const { device, errors } of perDevice) {
    for (const e of errors) {
      const key = `${e.path}\0${e.line}\0${e.message}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { error: e, devices: [] }));
      g.devices.push(device);
    }
  }
  return [...groups.values()].slice(0, 50).map(({ error, devices }) => {
    if (devices.length === total && total !== 1) return error;
    const named = devices.slice(0, NAMED_DEVICES).join(', ');
    const more = devices.length > NAMED_DEVICES ? ` and ${devices.length - NAMED_DEVICES} more` : '';
    return { ...error, message: `${error.message} (device${devices.length > 1 ? 's' : ''} ${named}${more})` };
  });
}
