import { MAX_INTERPOLATED_CHARS } from './limits.js';

/**
 * Compose's variable interpolation, over one string: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a
 * literal `$`. Defaults may themselves hold references (`${A:-${B}}`) and are only evaluated when
 * used. A `$` followed by anything else stays literal, as in Compose; a `${` that does not form a
 * valid reference is an error.
 *
 * One departure from Compose, on purpose: a plain reference to an unset variable (`${X}`, `$X`)
 * is an error instead of a warning and an empty string. An app rolled out to a fleet should not
 * start with a blank password because one device lacks a variable; `${X:-}` asks for the blank.
 */

type Op = ':-' | '-' | ':?' | '?' | ':+' | '+';
type Part = { t: 'lit'; s: string } | { t: 'ref'; name: string; op: Op | null; word: Part[] };

export type Lookup = (name: string) => string | undefined;

export type InterpolationFailure =
  | { kind: 'unset'; variable: string; message: string }
  | { kind: 'required'; variable: string; message: string }
  | { kind: 'invalid'; message: string };

export type InterpolationResult = { ok: true; value: string } | ({ ok: false } & InterpolationFailure);

const NAME_START = /[_A-Za-z]/;
const NAME_CHAR = /[_A-Za-z0-9]/;

class TemplateError extends Error {}

/** Deepest `${A:-${B:-...}}` nesting accepted (the parser recurses on it). */
const MAX_NESTING = 16;

/** Parses a template into literal and reference parts; `stopAtBrace` ends a `${X:-...}` word. */
function parse(s: string, start: number, stopAtBrace: boolean, depth = 0): { parts: Part[]; end: number } {
  if (depth > MAX_NESTING) throw new TemplateError(`interpolation nested deeper than ${MAX_NESTING} levels`);
  const parts: Part[] = [];
  let lit = '';
  let braces = 0; // bare `{` inside a default word, so `${A:-{x}}` keeps `{x}` (as Compose does)
  let i = start;
  const flush = () => {
    if (lit) parts.push({ t: 'lit', s: lit });
    lit = '';
  };
  while (i < s.length) {
    const c = s[i];
    if (stopAtBrace && c === '}') {
      if (braces === 0) {
        flush();
        return { parts, end: i };
      }
      braces--;
      lit += c;
      i++;
      continue;
    }
    if (stopAtBrace && c === '{') braces++;
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      lit += '$';
      i += 2;
    } else if (next === '{') {
      flush();
      let j = i + 2;
      if (j >= s.length || !NAME_START.test(s[j])) throw new TemplateError(`invalid interpolation ${excerpt(s, i)}: \${ must be followed by a variable name`);
      while (j < s.length && NAME_CHAR.test(s[j])) j++;
      const name = s.slice(i + 2, j);
      if (s[j] === '}') {
        parts.push({ t: 'ref', name, op: null, word: [] });
        i = j + 1;
        continue;
      }
      const op = ([':-', ':?', ':+', '-', '?', '+'] as const).find((o) => s.startsWith(o, j));
      if (!op) {
        if (j >= s.length) throw new TemplateError(`invalid interpolation ${excerpt(s, i)}: missing }`);
        throw new TemplateError(`invalid interpolation ${excerpt(s, i)}: unexpected ${JSON.stringify(s[j])} after \${${name}`);
      }
      const word = parse(s, j + op.length, true, depth + 1);
      if (word.end >= s.length) throw new TemplateError(`invalid interpolation ${excerpt(s, i)}: missing }`);
      parts.push({ t: 'ref', name, op, word: word.parts });
      i = word.end + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      flush();
      let j = i + 1;
      while (j < s.length && NAME_CHAR.test(s[j])) j++;
      parts.push({ t: 'ref', name: s.slice(i + 1, j), op: null, word: [] });
      i = j;
    } else {
      lit += '$';
      i++;
    }
  }
  if (stopAtBrace) return { parts, end: s.length };
  flush();
  return { parts, end: i };
}

function excerpt(s: string, at: number): string {
  const piece = s.slice(at, at + 40);
  return JSON.stringify(piece.length < s.length - at ? `${piece}...` : piece);
}

class Failure extends Error {
  constructor(readonly failure: InterpolationFailure) {
    super(failure.message);
  }
}

function evaluate(parts: Part[], lookup: Lookup): string {
  let out = '';
  for (const p of parts) {
    out += p.t === 'lit' ? p.s : evaluateRef(p, lookup);
    if (out.length > MAX_INTERPOLATED_CHARS) {
      throw new Failure({ kind: 'invalid', message: `interpolated value is longer than ${MAX_INTERPOLATED_CHARS} characters` });
    }
  }
  return out;
}

function evaluateRef(p: Extract<Part, { t: 'ref' }>, lookup: Lookup): string {
  const v = lookup(p.name);
  const empty = v === undefined || v === '';
  switch (p.op) {
    case null:
      if (v === undefined) {
        throw new Failure({
          kind: 'unset',
          variable: p.name,
          message: `variable ${p.name} is unset (set it in the fleet's or the device's variables, or give a default: \${${p.name}:-value})`,
        });
      }
      return v;
    case ':-':
      return empty ? evaluate(p.word, lookup) : v;
    case '-':
      return v === undefined ? evaluate(p.word, lookup) : v;
    case ':?':
    case '?': {
      if (p.op === ':?' ? !empty : v !== undefined) return v!;
      let reason: string;
      try {
        reason = evaluate(p.word, lookup);
      } catch {
        reason = '';
      }
      const detail = reason ? `: ${reason}` : '';
      throw new Failure({
        kind: 'required',
        variable: p.name,
        message: `variable ${p.name} is ${p.op === ':?' && v === '' ? 'empty' : 'unset'} and required${detail}`,
      });
    }
    case ':+':
      return empty ? '' : evaluate(p.word, lookup);
    case '+':
      return v === undefined ? '' : evaluate(p.word, lookup);
  }
}

/** `template` with its references replaced by their values from `lookup`. */
export function interpolate(template: string, lookup: Lookup): InterpolationResult {
  // Fast path: most values hold no `$` at all.
  if (!template.includes('$')) return { ok: true, value: template };
  try {
    return { ok: true, value: evaluate(parse(template, 0, false).parts, lookup) };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, ...e.failure };
    if (e instanceof TemplateError) return { ok: false, kind: 'invalid', message: `${e.message} (write $$ for a literal $)` };
    throw e;
  }
}

export interface TemplateReference {
  name: string;
  /** Whether leaving the variable unset is an error: no `-`/`:-`/`+`/`:+` modifier, and not inside another reference's default. */
  required: boolean;
}

/** The variables `template` refers to, in order; an invalid template yields none. */
export function templateReferences(template: string): TemplateReference[] {
  if (!template.includes('$')) return [];
  let parts: Part[];
  try {
    parts = parse(template, 0, false).parts;
  } catch {
    return [];
  }
  const out: TemplateReference[] = [];
  const walk = (ps: Part[], nested: boolean) => {
    for (const p of ps) {
      if (p.t !== 'ref') continue;
      out.push({ name: p.name, required: !nested && (p.op === null || p.op === '?' || p.op === ':?') });
      walk(p.word, true);
    }
  };
  walk(parts, false);
  return out;
}
