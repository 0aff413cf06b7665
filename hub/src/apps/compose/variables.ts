import { templateReferences } from './interpolate.js';
import { parseYamlTree, type YNode } from './yaml-tree.js';

/**
 * The variables a compose file refers to, so the hub can say which devices lack one before it
 * parses the file per device ("variable DB_PASSWORD is unset for devices a, b").
 */

export interface ComposeVariable {
  name: string;
  /**
   * Whether a device without it fails to parse: used as `${X}`, `$X`, `${X?..}` or `${X:?..}`
   * somewhere. False when every use has a default or alternative (`${X:-..}`, `${X-..}`,
   * `${X:+..}`, `${X+..}`), sits inside another reference's default, or is an environment entry
   * without a value (`- X`, which is left out when X is unset).
   */
  required: boolean;
}

/** Top-level sections whose values are interpolated; `version` and `x-` blocks are not read. */
const INTERPOLATED = new Set(['name', 'services', 'volumes', 'networks']);

/** The variables of `text` sorted by name; a file that is not valid YAML has none. */
export function composeVariables(text: string): ComposeVariable[] {
  if (typeof text !== 'string') return [];
  const tree = parseYamlTree(text);
  if (!tree.ok || tree.root.kind !== 'map') return [];
  const found = new Map<string, boolean>();
  const note = (name: string, required: boolean) => found.set(name, (found.get(name) ?? false) || required);
  const walk = (n: YNode, inEnvironment: boolean): void => {
    if (n.kind === 'scalar') {
      if (typeof n.value !== 'string') return;
      for (const ref of templateReferences(n.value)) note(ref.name, ref.required);
      if (inEnvironment && !n.value.includes('=') && /^[_A-Za-z][_A-Za-z0-9]*$/.test(n.value)) note(n.value, false);
      return;
    }
    if (n.kind === 'seq') {
      for (const item of n.items) walk(item, inEnvironment);
      return;
    }
    for (const e of n.entries) {
      if (inEnvironment && e.value.kind === 'scalar' && e.value.value === null) note(e.key, false);
      walk(e.value, false);
    }
  };
  for (const e of tree.root.entries) {
    if (!INTERPOLATED.has(e.key)) continue;
    if (e.key !== 'services' || e.value.kind !== 'map') {
      walk(e.value, false);
      continue;
    }
    for (const service of e.value.entries) {
      if (service.value.kind !== 'map') continue;
      for (const field of service.value.entries) {
        if (field.key === 'environment') {
          if (field.value.kind === 'seq') walk(field.value, true);
          else if (field.value.kind === 'map') {
            for (const env of field.value.entries) {
              if (env.value.kind === 'scalar' && env.value.value === null) note(env.key, false);
              else walk(env.value, false);
            }
          }
        } else walk(field.value, false);
      }
    }
  }
  return [...found].map(([name, required]) => ({ name, required })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
