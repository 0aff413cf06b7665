import { posix } from 'node:path';
import type { MountSpec } from '@pifleet/protocol';
import { at, child, describe, type Reader } from './reader.js';
import { parseBytes } from './units.js';
import type { YNode } from './yaml-tree.js';

/**
 * `volumes:` of a service (short `source:target[:ro|rw]` and long `type: volume|bind|tmpfs`)
 * and `tmpfs:`. The compose file lives on the hub, not on the Pi, so a relative bind (`./data`,
 * `~/x`) has nothing to be relative to and is refused; bind sources are absolute paths on the
 * device. Named volumes are checked against the top-level `volumes` by the caller.
 */

export interface MountItem {
  path: string;
  line: number | null;
  mount?: MountSpec;
  /** A tmpfs mount, in Docker's `target[:options]` form. */
  tmpfs?: string;
}

const RELATIVE_HINT = 'the compose file is not on the device, so a relative path has no meaning there; use an absolute path on the device or a named volume';

/** Normalised container/host path: `//a/./b/` -> `/a/b`. */
function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function readTarget(r: Reader, text: string, path: string, line: number | null): string | undefined {
  if (!text.startsWith('/')) {
    r.error(path, line, `mount target ${JSON.stringify(text)} must be an absolute path in the container`);
    return undefined;
  }
  const t = cleanPath(text);
  if (t === '/') {
    r.error(path, line, 'a mount cannot replace the container\'s root (target "/")');
    return undefined;
  }
  return t;
}

/** A bind source, or `undefined` (with an error) when it is relative or empty. */
function readBindSource(r: Reader, text: string, path: string, line: number | null): string | undefined {
  if (text.startsWith('/')) return cleanPath(text);
  r.error(path, line, `bind mount source ${JSON.stringify(text)} is relative: ${RELATIVE_HINT}`);
  return undefined;
}

function isRelative(source: string): boolean {
  return source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../') || source.startsWith('~');
}

function shortVolume(r: Reader, spec: string, path: string, line: number | null): MountItem | undefined {
  const parts = spec.split(':');
  if (parts.length === 1) {
    r.error(path, line, `anonymous volume ${JSON.stringify(spec)} is not supported: give it a name (name:${spec}) and declare it under the top-level volumes`);
    return undefined;
  }
  if (parts.length > 3) {
    r.error(path, line, `invalid volume ${JSON.stringify(spec)} (write source:target[:ro])`);
    return undefined;
  }
  const [source, targetText, mode] = parts;
  if (source === '') {
    r.error(path, line, `volume ${JSON.stringify(spec)} has an empty source`);
    return undefined;
  }
  let readOnly = false;
  if (mode !== undefined) {
    const flags = mode.split(',');
    for (const f of flags) {
      if (f === 'ro') readOnly = true;
      else if (f !== 'rw') {
        r.error(path, line, `volume mode ${JSON.stringify(f)} is not supported (ro or rw)`);
        return undefined;
      }
    }
    if (flags.includes('ro') && flags.includes('rw')) {
      r.error(path, line, 'volume mode cannot be both ro and rw');
      return undefined;
    }
  }
  const target = readTarget(r, targetText, path, line);
  if (source.startsWith('/')) {
    return target === undefined ? undefined : { path, line, mount: { type: 'bind', source: cleanPath(source), target, readOnly } };
  }
  if (isRelative(source)) {
    r.error(path, line, `bind mount source ${JSON.stringify(source)} is relative: ${RELATIVE_HINT}`);
    return undefined;
  }
  return target === undefined ? undefined : { path, line, mount: { type: 'volume', source, target, readOnly } };
}

function tmpfsOptions(r: Reader, node: YNode, path: string): string[] | undefined {
  const map = r.map(node, path);
  if (!map) return undefined;
  const f = r.fields(map, path, ['size', 'mode'], { where: 'tmpfs options' });
  const opts: string[] = [];
  const size = f.get('size');
  if (size) {
    const p = child(path, 'size');
    const text = r.text(size.value, p);
    if (text === undefined) return undefined;
    const bytes = parseBytes(text);
    if (!bytes.ok) {
      r.error(p, size.line, bytes.message);
      return undefined;
    }
    opts.push(`size=${bytes.value}`);
  }
  const mode = f.get('mode');
  if (mode) {
    const p = child(path, 'mode');
    const text = r.text(mode.value, p);
    if (text === undefined) return undefined;
    const octal = text.replace(/^0o/i, '');
    if (!/^[0-7]{3,4}$/.test(octal)) {
      r.error(p, mode.line, `tmpfs mode ${JSON.stringify(text)} must be octal permission bits, e.g. 1777`);
      return undefined;
    }
    opts.push(`mode=${octal}`);
  }
  return opts;
}

function longVolume(r: Reader, node: YNode, path: string): MountItem | undefined {
  const map = r.map(node, path);
  if (!map) return undefined;
  const f = r.fields(map, path, ['type', 'source', 'target', 'read_only', 'tmpfs'], {
    refuse: {
      bind: 'bind options (propagation, create_host_path, selinux) are left to the engine defaults',
      volume: 'volume options (nocopy, subpath) are not supported',
      consistency: 'it only matters on Docker Desktop',
      image: '',
    },
    where: 'a volume',
  });
  const typeEntry = f.get('type');
  if (!typeEntry) {
    r.error(path, node.line, 'type (volume, bind or tmpfs) is required in the long syntax');
    return undefined;
  }
  const type = r.text(typeEntry.value, child(path, 'type'));
  if (type === undefined) return undefined;
  if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') {
    r.error(child(path, 'type'), typeEntry.line, `volume type ${JSON.stringify(type)} is not supported (volume, bind or tmpfs)`);
    return undefined;
  }
  const targetEntry = f.get('target');
  if (!targetEntry) {
    r.error(path, node.line, 'target (the path in the container) is required');
    return undefined;
  }
  const targetText = r.text(targetEntry.value, child(path, 'target'));
  const target = targetText === undefined ? undefined : readTarget(r, targetText, child(path, 'target'), targetEntry.line);
  const ro = f.get('read_only');
  const readOnly = ro ? r.bool(ro.value, child(path, 'read_only')) : false;
  const src = f.get('source');
  const sourceText = src ? r.optionalText(src.value, child(path, 'source')) : undefined;
  if (src && sourceText === undefined && !(src.value.kind === 'scalar' && src.value.value === null)) return undefined;
  const tmpfsEntry = f.get('tmpfs');
  if (tmpfsEntry && type !== 'tmpfs') {
    r.error(child(path, 'tmpfs'), tmpfsEntry.line, 'tmpfs options only apply to type: tmpfs');
    return undefined;
  }
  if (target === undefined || readOnly === undefined) return undefined;

  if (type === 'tmpfs') {
    if (sourceText !== undefined) {
      r.error(child(path, 'source'), src!.line, 'a tmpfs mount has no source');
      return undefined;
    }
    const opts = tmpfsEntry ? tmpfsOptions(r, tmpfsEntry.value, child(path, 'tmpfs')) : [];
    if (!opts) return undefined;
    if (readOnly) opts.push('ro');
    return { path, line: node.line, tmpfs: opts.length > 0 ? `${target}:${opts.join(',')}` : target };
  }
  if (sourceText === undefined || sourceText === '') {
    const what = type === 'volume' ? 'anonymous volumes are not supported: name the volume and declare it under the top-level volumes' : 'a bind mount needs the path on the device';
    r.error(child(path, 'source'), src?.line ?? node.line, `source is required (${what})`);
    return undefined;
  }
  if (type === 'bind') {
    const source = readBindSource(r, sourceText, child(path, 'source'), src!.line);
    return source === undefined ? undefined : { path, line: node.line, mount: { type: 'bind', source, target, readOnly } };
  }
  if (sourceText.startsWith('/') || isRelative(sourceText)) {
    r.error(child(path, 'source'), src!.line, `${JSON.stringify(sourceText)} is a path, not a volume name (use type: bind for a path on the device)`);
    return undefined;
  }
  return { path, line: node.line, mount: { type: 'volume', source: sourceText, target, readOnly } };
}

/** A service's `volumes:` list. */
export function readVolumes(r: Reader, node: YNode, path: string): MountItem[] | undefined {
  const items = r.list(node, path);
  if (!items) return undefined;
  const out: MountItem[] = [];
  let failed = false;
  items.forEach((item, i) => {
    const p = at(path, i);
    let m: MountItem | undefined;
    if (item.kind === 'map') m = longVolume(r, item, p);
    else if (item.kind === 'scalar' && typeof item.value === 'string') {
      const text = r.scalarText(item, p);
      m = text === undefined ? undefined : shortVolume(r, text, p, item.line);
    } else r.error(p, item.line, `expected a volume ("name:/path" or a mapping with type/source/target), got ${describe(item)}`);
    if (m) out.push(m);
    else failed = true;
  });
  return failed ? undefined : out;
}

/** A service's `tmpfs:` (a path or a list of them, each optionally `path:options`). */
export function readTmpfs(r: Reader, node: YNode, path: string): MountItem[] | undefined {
  const items = r.stringOrList(node, path);
  if (!items) return undefined;
  const out: MountItem[] = [];
  let failed = false;
  for (const { node: item, path: p } of items) {
    const text = r.text(item, p);
    if (text === undefined) {
      failed = true;
      continue;
    }
    const colon = text.indexOf(':');
    const target = readTarget(r, colon < 0 ? text : text.slice(0, colon), p, item.line);
    const options = colon < 0 ? '' : text.slice(colon + 1);
    if (options !== '' && !/^[A-Za-z0-9=,._+-]+$/.test(options)) {
      r.error(p, item.line, `tmpfs options ${JSON.stringify(options)} are not in Docker's form (e.g. size=64m,mode=1777)`);
      failed = true;
      continue;
    }
    if (target === undefined) failed = true;
    else out.push({ path: p, line: item.line, tmpfs: options ? `${target}:${options}` : target });
  }
  return failed ? undefined : out;
}

/** Errors for two mounts (volumes or tmpfs) on the same container path. */
export function checkMountTargets(r: Reader, items: MountItem[]): void {
  const seen = new Map<string, string>();
  for (const m of items) {
    const target = m.mount?.target ?? m.tmpfs!.split(':')[0];
    const earlier = seen.get(target);
    if (earlier !== undefined) r.error(m.path, m.line, `${target} is already mounted by ${earlier}`);
    else seen.set(target, m.path);
  }
}
