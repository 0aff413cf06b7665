import type { DependsCondition, RestartPolicy } from '@pifleet/protocol';
import { DEPENDS_CONDITIONS, SupervisionSpecSchema, type SupervisionSpec } from '@pifleet/protocol';
import { parseDotenv } from './dotenv.js';
import type { Lookup } from './interpolate.js';
import { MAX_ENV_FILE_BYTES } from './limits.js';
import { at, child, describe, type Reader } from './reader.js';
import { shellSplit } from './shell-split.js';
import { parseBytes } from './units.js';
import type { YEntry, YNode } from './yaml-tree.js';

/** Readers for the single-purpose service fields; each records its own errors and returns `undefined` on one. */

// Docker's image reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
const ALNUM = '[a-z0-9]+';
const PATH_COMPONENT = `${ALNUM}(?:(?:[._]|__|-+)${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

export function readImage(r: Reader, node: YNode, path: string): string | undefined {
  const image = r.text(node, path, 'an image reference');
  if (image === undefined) return undefined;
  if (image.length > 512 || !IMAGE_REFERENCE.test(image)) {
    const hint = /[A-Z]/.test(image.split('/').pop()!.split(/[:@]/)[0]) ? ' (repository names are lower case)' : '';
    r.error(path, node.line, `${JSON.stringify(image.slice(0, 100))} is not a valid image reference${hint}`);
    return undefined;
  }
  return image;
}

/** `command` / `entrypoint`: a string is split into words as Compose does, a list is kept. */
export function readCommand(r: Reader, node: YNode, path: string): string[] | undefined {
  if (node.kind === 'seq') return r.strings(node, path);
  const text = r.text(node, path, 'a command string or list');
  if (text === undefined) return undefined;
  const split = shellSplit(text);
  if (!split.ok) {
    r.error(path, node.line, `command ${JSON.stringify(text.slice(0, 80))} ${split.message}`);
    return undefined;
  }
  return split.words;
}

export function readRestart(r: Reader, node: YNode, path: string): RestartPolicy | undefined {
  const text = r.text(node, path, 'a restart policy');
  if (text === undefined) return undefined;
  if (text === 'no' || text === 'always' || text === 'unless-stopped' || text === 'on-failure') return text;
  // on-failure:N caps Docker's restarts; pifleet's supervisor counts failed starts itself (x-pifleet.startRetries).
  if (/^on-failure:\d+$/.test(text)) return 'on-failure';
  r.error(path, node.line, `restart ${JSON.stringify(text)} is not one of no, always, on-failure[:N], unless-stopped${text === 'false' ? ' (write "no" in quotes if YAML turned it into false)' : ''}`);
  return undefined;
}

export function readStopSignal(r: Reader, node: YNode, path: string): string | undefined {
  const text = r.text(node, path, 'a signal name');
  if (text === undefined) return undefined;
  if (text.length <= 16 && /^(?:(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d+)?|\d{1,2})$/.test(text)) return text;
  r.error(path, node.line, `${JSON.stringify(text)} is not a signal (e.g. SIGTERM, SIGINT, 15)`);
  return undefined;
}

/** Minimum memory limit Docker accepts; a smaller one is almost always `512` meant as 512m. */
const MIN_MEMORY = 6 * 1024 * 1024;

/** `mem_limit` / `deploy.resources.limits.memory` in bytes; 0 = no limit (undefined, no error). */
export function readMemory(r: Reader, node: YNode, path: string): { value: number | undefined } | undefined {
  let bytes: number | undefined;
  if (node.kind === 'scalar' && typeof node.value === 'number') {
    bytes = r.number(node, path, { integer: true, min: 0 });
  } else {
    const text = r.text(node, path, 'a size such as 512m');
    if (text === undefined) return undefined;
    const b = parseBytes(text);
    if (!b.ok) r.error(path, node.line, b.message);
    else bytes = b.value;
  }
  if (bytes === undefined) return undefined;
  if (bytes === 0) return { value: undefined };
  if (bytes < MIN_MEMORY) {
    r.error(path, node.line, `memory limit ${node.kind === 'scalar' ? node.text : ''} is ${bytes} bytes, below Docker's minimum of 6 MiB (write 512m for megabytes)`);
    return undefined;
  }
  return { value: bytes };
}

/** `cpus` / `deploy.resources.limits.cpus` as nano-CPUs; 0 = no limit. */
export function readCpus(r: Reader, node: YNode, path: string): { value: number | undefined } | undefined {
  const n = r.number(node, path, { min: 0, max: 1024 });
  if (n === undefined) return undefined;
  const nano = Math.round(n * 1e9);
  return { value: nano === 0 ? undefined : nano };
}

export interface DependsRef {
  name: string;
  condition: DependsCondition;
  path: string;
  line: number | null;
}

export function readDependsOn(r: Reader, node: YNode, path: string): DependsRef[] | undefined {
  const out: DependsRef[] = [];
  let failed = false;
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      const name = r.text(item, at(path, i), 'a service name');
      if (name === undefined) failed = true;
      else out.push({ name, condition: 'service_started', path: at(path, i), line: item.line });
    });
    return failed ? undefined : out;
  }
  const map = r.map(node, path);
  if (!map) return undefined;
  for (const e of map.entries) {
    const p = child(path, e.key);
    let condition: DependsCondition = 'service_started';
    if (e.value.kind === 'map') {
      const f = r.fields(e.value, p, ['condition', 'required', 'restart'], { where: 'depends_on' });
      const c = f.get('condition');
      if (c) {
        const text = r.text(c.value, child(p, 'condition'));
        if (text === undefined) failed = true;
        else if ((DEPENDS_CONDITIONS as readonly string[]).includes(text)) condition = text as DependsCondition;
        else {
          r.error(child(p, 'condition'), c.line, `condition ${JSON.stringify(text)} is not one of ${DEPENDS_CONDITIONS.join(', ')}`);
          failed = true;
        }
      }
      // Only the defaults are accepted: optional dependencies and restart propagation are not modelled.
      const required = f.get('required');
      const isRequired = required ? r.bool(required.value, child(p, 'required')) : true;
      if (isRequired === false) r.error(child(p, 'required'), required!.line, 'optional dependencies (required: false) are not supported');
      const restart = f.get('restart');
      const restarts = restart ? r.bool(restart.value, child(p, 'restart')) : false;
      if (restarts === true) r.error(child(p, 'restart'), restart!.line, 'restart: true (restarting this service when the dependency restarts) is not supported');
      if (isRequired !== true || restarts !== false) failed = true;
    } else if (!(e.value.kind === 'scalar' && e.value.value === null)) {
      r.error(p, e.line, `expected a mapping with condition, got ${describe(e.value)}`);
      failed = true;
      continue;
    }
    out.push({ name: e.key, condition, path: p, line: e.line });
  }
  return failed ? undefined : out;
}

export interface NetworkRef {
  name: string;
  path: string;
  line: number | null;
}

/** A service's `networks:` (names; per-network options are not supported). */
export function readServiceNetworks(r: Reader, node: YNode, path: string): NetworkRef[] | undefined {
  if (node.kind === 'seq') {
    const out: NetworkRef[] = [];
    let failed = false;
    node.items.forEach((item, i) => {
      const name = r.text(item, at(path, i), 'a network name');
      if (name === undefined) failed = true;
      else out.push({ name, path: at(path, i), line: item.line });
    });
    return failed ? undefined : out;
  }
  const map = r.map(node, path);
  if (!map) return undefined;
  const out: NetworkRef[] = [];
  let failed = false;
  for (const e of map.entries) {
    const p = child(path, e.key);
    if (e.value.kind === 'map' && e.value.entries.length > 0) {
      for (const opt of e.value.entries) {
        r.error(child(p, opt.key), opt.line, `per-network option ${opt.key} is not supported (services reach each other by service name)`);
      }
      failed = true;
    } else if (!(e.value.kind === 'map' || (e.value.kind === 'scalar' && e.value.value === null))) {
      r.error(p, e.line, `expected an empty value, got ${describe(e.value)}`);
      failed = true;
    } else out.push({ name: e.key, path: p, line: e.line });
  }
  return failed ? undefined : out;
}

/** `network_mode`: host, none, bridge or service:<name> (the service is checked by the caller). */
export function readNetworkMode(r: Reader, node: YNode, path: string): { mode: string; service?: string } | undefined {
  const mode = r.text(node, path, 'a network mode');
  if (mode === undefined) return undefined;
  if (mode === 'host' || mode === 'none' || mode === 'bridge') return { mode };
  if (mode.startsWith('service:') && mode.length > 'service:'.length) return { mode, service: mode.slice('service:'.length) };
  const why = mode.startsWith('container:') ? ' (containers outside the app are not supported; use service:<name>)' : '';
  r.error(path, node.line, `network_mode ${JSON.stringify(mode)} is not one of host, none, bridge, service:<name>${why}`);
  return undefined;
}

const PERMISSIONS = /^[rwm]{1,3}$/;

export function readDevices(r: Reader, node: YNode, path: string): { host: string; container: string; permissions: string }[] | undefined {
  const items = r.list(node, path);
  if (!items) return undefined;
  const out: { host: string; container: string; permissions: string }[] = [];
  let failed = false;
  items.forEach((item, i) => {
    const p = at(path, i);
    const text = r.text(item, p, 'a device such as /dev/ttyUSB0[:/dev/ttyUSB0[:rwm]]');
    if (text === undefined) return void (failed = true);
    const parts = text.split(':');
    const host = parts[0];
    let [, container, permissions] = parts;
    // Docker's parseDevice: `src:perm` when the second part reads as permissions.
    if (parts.length === 2 && PERMISSIONS.test(container)) {
      permissions = container;
      container = host;
    }
    container ??= host;
    permissions ??= 'rwm';
    if (parts.length > 3 || !host.startsWith('/') || !container.startsWith('/') || !PERMISSIONS.test(permissions)) {
      r.error(p, item.line, `invalid device ${JSON.stringify(text)} (write /dev/host[:/dev/container[:rwm]])`);
      return void (failed = true);
    }
    out.push({ host, container, permissions });
  });
  return failed ? undefined : out;
}

export function readCapabilities(r: Reader, node: YNode, path: string): string[] | undefined {
  const caps = r.strings(node, path);
  if (!caps) return undefined;
  let failed = false;
  caps.forEach((c, i) => {
    if (!/^[A-Za-z_]{1,64}$/.test(c)) {
      r.error(at(path, i), node.kind === 'seq' ? (node.items[i]?.line ?? node.line) : node.line, `${JSON.stringify(c)} is not a capability name (e.g. NET_ADMIN)`);
      failed = true;
    }
  });
  return failed ? undefined : caps;
}

export function readWorkingDir(r: Reader, node: YNode, path: string): string | undefined {
  const dir = r.text(node, path, 'an absolute path');
  if (dir === undefined) return undefined;
  if (dir.startsWith('/')) return dir;
  r.error(path, node.line, `working_dir ${JSON.stringify(dir)} must be an absolute path in the container`);
  return undefined;
}

export interface EnvFileContext {
  envFiles: Readonly<Record<string, string>>;
  lookup: Lookup;
}

/**
 * `env_file:` (a path, a list of paths, or `{ path, required }` entries) resolved from the
 * contents the caller sent, by the path as written. Later files win over earlier ones; the
 * caller lets `environment` win over all of them.
 */
export function readEnvFiles(r: Reader, node: YNode, path: string, ctx: EnvFileContext, environment: ReadonlyMap<string, string>): Map<string, string> | undefined {
  const items = r.stringOrList(node, path);
  if (!items) return undefined;
  const values = new Map<string, string>();
  let failed = false;
  for (const { node: item, path: p } of items) {
    let file: string | undefined;
    let required = true;
    if (item.kind === 'map') {
      const f = r.fields(item, p, ['path', 'required'], { refuse: { format: 'only the default dotenv format is supported' }, where: 'env_file' });
      const pe = f.get('path');
      if (!pe) {
        r.error(p, item.line, 'path is required');
        failed = true;
        continue;
      }
      file = r.text(pe.value, child(p, 'path'));
      const re = f.get('required');
      if (re) {
        const b = r.bool(re.value, child(p, 'required'));
        if (b === undefined) failed = true;
        else required = b;
      }
    } else file = r.text(item, p, 'a file path');
    if (file === undefined) {
      failed = true;
      continue;
    }
    if (!Object.hasOwn(ctx.envFiles, file)) {
      if (required) {
        r.error(p, item.line, `env file ${JSON.stringify(file)} was not provided (send its contents with the compose file, under that path, or mark it required: false)`);
        failed = true;
      }
      continue;
    }
    const content = ctx.envFiles[file];
    if (typeof content !== 'string') {
      r.error(p, item.line, `env file ${JSON.stringify(file)} was not sent as text`);
      failed = true;
      continue;
    }
    if (Buffer.byteLength(content, 'utf8') > MAX_ENV_FILE_BYTES) {
      r.error(p, item.line, `env file ${JSON.stringify(file)} is larger than ${MAX_ENV_FILE_BYTES / 1024} KiB`);
      failed = true;
      continue;
    }
    // Inside an env file the variables come first, then the service's environment, then keys defined earlier.
    const lookup: Lookup = (name) => ctx.lookup(name) ?? environment.get(name);
    const parsed = parseDotenv(content, lookup, values);
    for (const issue of parsed.issues) r.error(p, item.line, `env file ${JSON.stringify(file)} line ${issue.line}: ${issue.message}`);
    if (parsed.issues.length > 0) failed = true;
    for (const [k, v] of parsed.values) {
      if (k === '__proto__') continue;
      values.set(k, v);
    }
  }
  return failed ? undefined : values;
}

/** Per-service `x-pifleet:` -> SupervisionSpec (defaults filled in). */
export function readSupervision(r: Reader, node: YNode, path: string): SupervisionSpec | undefined {
  if (node.kind === 'scalar' && node.value === null) return SupervisionSpecSchema.parse({});
  const map = r.map(node, path);
  if (!map) return undefined;
  const keys = Object.keys(SupervisionSpecSchema.shape);
  const f = r.fields(map, path, keys, { extensions: false, where: 'x-pifleet' });
  const input: Record<string, unknown> = {};
  let failed = false;
  const lines = new Map<string, YEntry>();
  for (const [key, e] of f) {
    lines.set(key, e);
    const p = child(path, key);
    let v: unknown;
    if (key === 'restartUnhealthy') v = r.bool(e.value, p);
    else if (key === 'successExitCodes' || key === 'fatalExitCodes') {
      const items = r.list(e.value, p);
      if (items) {
        const codes = items.map((item, i) => r.number(item, at(p, i), { integer: true, min: 0, max: 255 }));
        v = codes.some((c) => c === undefined) ? undefined : codes;
      }
    } else v = r.number(e.value, p, { integer: key === 'startRetries' });
    if (v === undefined) failed = true;
    else input[key] = v;
  }
  if (failed) return undefined;
  const parsed = SupervisionSpecSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '');
      const p = issue.path.reduce<string>((acc, seg) => (typeof seg === 'number' ? at(acc, seg) : child(acc, String(seg))), path);
      r.error(p, lines.get(key)?.line ?? map.line, issue.message);
    }
    return undefined;
  }
  const both = parsed.data.successExitCodes.filter((c) => parsed.data.fatalExitCodes.includes(c));
  if (both.length > 0) {
    r.error(child(path, 'fatalExitCodes'), lines.get('fatalExitCodes')?.line ?? map.line, `exit code(s) ${both.join(', ')} cannot be both success and fatal`);
    return undefined;
  }
  return parsed.data;
}
