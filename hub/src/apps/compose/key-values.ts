import type { Lookup } from './interpolate.js';
import { at, child, describe, type Reader } from './reader.js';
import type { YNode } from './yaml-tree.js';

/**
 * `environment:` and `labels:`, each as a list (`- KEY=value`, `- KEY`) or a mapping
 * (`KEY: value`, `KEY:`). Values are stringified as written (`1.10` stays `1.10`). A key without
 * a value means, for environment, "the variable's value, or nothing when it is unset" (Compose
 * takes it from the shell; here the fleet's and device's variables play that part), and for
 * labels an empty label.
 */

/** Labels pifleet puts on the containers, volumes and networks it owns; an operator's label there would confuse the agent. */
export const RESERVED_LABEL_PREFIX = 'io.pifleet.';

export type KeyValueKind = 'environment' | 'labels';

function validKey(r: Reader, kind: KeyValueKind, key: string, path: string, line: number | null): boolean {
  const what = kind === 'environment' ? 'environment variable' : 'label';
  if (key === '') r.error(path, line, `${what} name is empty`);
  else if (/\s/.test(key)) r.error(path, line, `${what} name ${JSON.stringify(key)} contains a blank`);
  else if (key === '__proto__') r.error(path, line, `${what} name __proto__ is not allowed`);
  else if (kind === 'environment' && key.includes('=')) r.error(path, line, `environment variable name ${JSON.stringify(key)} contains =`);
  else if (kind === 'labels' && key.startsWith(RESERVED_LABEL_PREFIX)) r.error(path, line, `labels under ${RESERVED_LABEL_PREFIX} are reserved for pifleet`);
  else return true;
  return false;
}

/** The entries in order (a repeated key: the last wins), or `undefined` after an error. */
export function readKeyValues(r: Reader, node: YNode, path: string, kind: KeyValueKind, lookup: Lookup): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let failed = false;
  const bare = (key: string): void => {
    if (kind === 'labels') out.set(key, '');
    else {
      const v = lookup(key);
      if (v !== undefined) out.set(key, v);
      else out.delete(key);
    }
  };
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      const p = at(path, i);
      const text = r.text(item, p, kind === 'environment' ? 'KEY=value' : 'key=value');
      if (text === undefined) return void (failed = true);
      const eq = text.indexOf('=');
      const key = eq < 0 ? text : text.slice(0, eq);
      if (!validKey(r, kind, key, p, item.line)) return void (failed = true);
      if (eq < 0) bare(key);
      else out.set(key, text.slice(eq + 1));
    });
  } else if (node.kind === 'map') {
    for (const e of node.entries) {
      const p = child(path, e.key);
      if (!validKey(r, kind, e.key, p, e.line)) {
        failed = true;
        continue;
      }
      if (e.value.kind === 'scalar' && e.value.value === null) {
        bare(e.key);
        continue;
      }
      const text = r.text(e.value, p);
      if (text === undefined) failed = true;
      else out.set(e.key, text);
    }
  } else if (node.value !== null) {
    r.error(path, node.line, `expected a list of KEY=value or a mapping, got ${describe(node)}`);
    return undefined;
  }
  return failed ? undefined : out;
}
