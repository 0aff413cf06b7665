import { Alias, LineCounter, Scalar, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import type { ComposeError } from '../../contract.js';
import { MAX_YAML_DEPTH, MAX_YAML_NODES } from './limits.js';

/**
 * The compose file as a small tree that remembers where each value came from: YAML 1.2 parsed by
 * `yaml` (eemeli), anchors and aliases expanded, `<<` merge keys applied (Compose files use them
 * with `x-` blocks), every node tagged with its 1-based line so that an error can name it.
 * Keys are strings; values keep their YAML type (the field readers decide what they accept).
 */

export interface YScalar {
  readonly kind: 'scalar';
  readonly line: number | null;
  readonly value: string | number | boolean | null;
  /** The scalar as written (unquoted): `1.10` stays `1.10` where the number would read 1.1. */
  readonly text: string;
}
export interface YEntry {
  readonly key: string;
  readonly line: number | null;
  readonly value: YNode;
}
export interface YMap {
  readonly kind: 'map';
  readonly line: number | null;
  readonly entries: readonly YEntry[];
}
export interface YSeq {
  readonly kind: 'seq';
  readonly line: number | null;
  readonly items: readonly YNode[];
}
export type YNode = YScalar | YMap | YSeq;

export type YamlTreeResult = { ok: true; root: YNode } | { ok: false; errors: ComposeError[] };

/** Thrown inside the conversion when a bound is hit; turned into one ComposeError. */
class TreeLimit extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(message);
  }
}

/**
 * The last few trees, by text: the hub parses one compose file once per device (each with its
 * own variables), and the YAML work is most of a parse. Trees are never mutated after building.
 */
const recent = new Map<string, YamlTreeResult>();
const RECENT_TREES = 4;

/** Parses `text` (one YAML document) into a YNode tree, or the YAML errors with their lines. */
export function parseYamlTree(text: string): YamlTreeResult {
  const cached = recent.get(text);
  if (cached) return cached;
  const result = buildTree(text);
  if (recent.size >= RECENT_TREES) recent.delete(recent.keys().next().value!);
  recent.set(text, result);
  return result;
}

function buildTree(text: string): YamlTreeResult {
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  } catch (e) {
    // The parser recurses on nesting; a pathological file can exhaust the stack.
    return { ok: false, errors: [{ path: '', line: null, message: `YAML could not be parsed: ${(e as Error).message}` }] };
  }
  const lineOf = (offset: number | undefined): number | null => (offset === undefined ? null : lines.linePos(offset).line);
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((p) => ({ path: '', line: lineOf(p.pos[0]), message: `YAML: ${firstLine(p.message)}` })),
    };
  }
  try {
    const root = new Converter(doc, lineOf).node(doc.contents, 0, null);
    return { ok: true, root };
  } catch (e) {
    if (e instanceof TreeLimit) return { ok: false, errors: [{ path: '', line: e.line, message: e.message }] };
    throw e;
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).trim();
}

class Converter {
  private count = 0;
  /** Each alias's anchored node, found in one pass (yaml's own Alias.resolve scans the document per call). */
  private readonly targets = new Map<Alias, YamlNode | undefined>();

  constructor(
    doc: Document.Parsed,
    private readonly lineOf: (offset: number | undefined) => number | null,
  ) {
    // In document order, an alias refers to the latest node before it with that anchor.
    const anchors = new Map<string, YamlNode>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  node(n: YamlNode | null | undefined, depth: number, fallbackLine: number | null): YNode {
    if (++this.count > MAX_YAML_NODES) throw new TreeLimit(`the file expands to more than ${MAX_YAML_NODES} YAML nodes (through aliases?)`, fallbackLine);
    if (depth > MAX_YAML_DEPTH) throw new TreeLimit(`YAML nested deeper than ${MAX_YAML_DEPTH} levels (a recursive alias?)`, fallbackLine);
    if (n === null || n === undefined) return { kind: 'scalar', line: fallbackLine, value: null, text: '' };
    const line = this.lineOf(n.range?.[0]) ?? fallbackLine;
    if (isAlias(n)) return this.node(this.resolve(n, line), depth + 1, line);
    if (isScalar(n)) return this.scalar(n, fallbackLine);
    if (isSeq(n)) return { kind: 'seq', line, items: n.items.map((item) => this.node(item as YamlNode, depth + 1, line)) };
    if (isMap(n)) return this.map(n.items, depth, line);
    throw new TreeLimit('unsupported YAML node', line);
  }

  private resolve(alias: Alias, line: number | null): YamlNode {
    const target = this.targets.get(alias);
    if (!target) throw new TreeLimit(`YAML alias *${alias.source} has no anchor`, line);
    return target;
  }

  private scalar(n: Scalar, fallbackLine: number | null): YScalar {
    const v: unknown = n.value;
    const text = typeof n.source === 'string' ? n.source : String(v);
    // An empty value (`image:`) has its range at the end of the key's line or on the next one: use the key's.
    const line = v === null && text === '' ? fallbackLine : (this.lineOf(n.range?.[0]) ?? fallbackLine);
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', line, value: v, text };
    return { kind: 'scalar', line, value: text, text };
  }

  private map(items: unknown[], depth: number, line: number | null): YMap {
    const explicit: YEntry[] = [];
    const seen = new Set<string>();
    const merged: YMap[] = [];
    for (const pair of items) {
      if (!isPair(pair)) continue;
      let key = pair.key as YamlNode | null;
      const keyLine = this.lineOf((key as YamlNode | null)?.range?.[0]) ?? line;
      if (key && isAlias(key)) key = this.resolve(key, keyLine);
      if (isScalar(key) && typeof key.value === 'symbol') {
        // `<<: *base` or `<<: [*a, *b]`: the mapping(s) merged in, earlier ones winning.
        const value = this.node(pair.value as YamlNode, depth + 1, keyLine);
        const sources = value.kind === 'seq' ? value.items : [value];
        for (const s of sources) {
          if (s.kind !== 'map') throw new TreeLimit('YAML merge key << needs a mapping or a list of mappings', s.line ?? keyLine);
          merged.push(s);
        }
        continue;
      }
      if (!isScalar(key) || key.value === null) throw new TreeLimit('YAML keys must be plain strings', keyLine);
      const name = typeof key.value === 'string' ? key.value : typeof key.source === 'string' ? key.source : String(key.value);
      if (seen.has(name)) throw new TreeLimit(`YAML: duplicate key ${JSON.stringify(name)}`, keyLine);
      seen.add(name);
      explicit.push({ key: name, line: keyLine, value: this.node(pair.value as YamlNode, depth + 1, keyLine) });
    }
    const entries = explicit;
    for (const source of merged) {
      for (const e of source.entries) {
        if (seen.has(e.key)) continue;
        seen.add(e.key);
        entries.push(e);
      }
    }
    return { kind: 'map', line, entries };
  }
}
