import { interpolate, type Lookup } from './interpolate.js';

/**
 * Env files (`env_file:`) in Compose's dotenv dialect:
 *   KEY=value            unquoted: up to the end of the line, ` #` starts a comment, trailing blanks go
 *   export KEY=value     `export ` is ignored
 *   KEY: value           YAML-style separator
 *   KEY="a\nb $X"        double quotes: may span lines, escapes \n \t \r \a \b \f \v \\ \" \$ \0NNN, interpolated
 *   KEY='raw $X'         single quotes: literal, may span lines, only \' is an escape
 *   KEY                  no `=`: the value of variable KEY, left out when it has none
 *   # comment            whole-line comments and blank lines are skipped
 * Unquoted and double-quoted values are interpolated like the compose file; `lookup` supplies
 * the variables, and keys defined earlier (in this file or an earlier one) are visible too.
 */

export interface DotenvIssue {
  line: number;
  message: string;
}

export interface DotenvResult {
  /** In file order; a later key replaces an earlier one. */
  values: Map<string, string>;
  issues: DotenvIssue[];
}

const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
const BLANK = /[ \t\v\f\r\u0085\u00a0]/;

export function parseDotenv(source: string, lookup: Lookup, earlier: ReadonlyMap<string, string> = new Map()): DotenvResult {
  const text = source.replace(/\r\n/g, '\n');
  const values = new Map<string, string>();
  const issues: DotenvIssue[] = [];
  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text[k] === '\n') lineStarts.push(k + 1);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const resolve: Lookup = (name) => lookup(name) ?? values.get(name) ?? earlier.get(name);
  const expand = (raw: string, at: number): string | undefined => {
    const r = interpolate(raw, resolve);
    if (r.ok && r.value.includes('\u0000')) {
      issues.push({ line: lineAt(at), message: 'value contains a NUL character' });
      return undefined;
    }
    if (r.ok) return r.value;
    issues.push({ line: lineAt(at), message: r.message });
    return undefined;
  };

  const checked = (v: string, at: number): string | undefined => {
    if (!v.includes('\u0000')) return v;
    issues.push({ line: lineAt(at), message: 'value contains a NUL character' });
    return undefined;
  };

  let i = 0;
  while (i < text.length) {
    // Statement start: skip blanks, newlines and comment lines.
    while (i < text.length && (BLANK.test(text[i]) || text[i] === '\n')) i++;
    if (i >= text.length) break;
    if (text[i] === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (/^export[ \t]+/.test(text.slice(i, i + 16))) {
      i += 6;
      while (i < text.length && BLANK.test(text[i])) i++;
    }
    // The key: up to `=`, `:` or the end of the line.
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && text[i] !== ':' && text[i] !== '\n') {
      if (!KEY_CHAR.test(text[i]) && !BLANK.test(text[i])) {
        issues.push({ line: lineAt(i), message: `unexpected character ${JSON.stringify(text[i])} in variable name ${JSON.stringify(lineText(text, start))}` });
        return { values, issues };
      }
      i++;
    }
    const key = text.slice(keyStart, i).replace(/[ \t\v\f\r\u0085\u00a0]+$/, '');
    if (/\s/.test(key)) {
      issues.push({ line: lineAt(keyStart), message: `variable name ${JSON.stringify(key)} contains a space` });
      return { values, issues };
    }
    if (key === '') {
      issues.push({ line: lineAt(keyStart), message: `missing variable name before ${JSON.stringify(text[i] ?? '')}` });
      return { values, issues };
    }
    if (i >= text.length || text[i] === '\n') {
      // `KEY` alone: taken from the variables, or left out.
      const v = resolve(key);
      if (v !== undefined) values.set(key, v);
      continue;
    }
    i++; // past `=` or `:`
    while (i < text.length && BLANK.test(text[i])) i++;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      const open = i;
      let raw = '';
      let closed = false;
      for (i = i + 1; i < text.length; i++) {
        const c = text[i];
        if (c === '\\' && i + 1 < text.length) {
          const n = text[i + 1];
          // An escaped quote is the quote; other escapes are kept for the double-quote pass.
          raw += n === quote ? n : `\\${n}`;
          i++;
          continue;
        }
        if (c === quote) {
          closed = true;
          i++;
          break;
        }
        raw += c;
      }
      if (!closed) {
        issues.push({ line: lineAt(open), message: `unterminated quoted value for ${key}` });
        return { values, issues };
      }
      // After the closing quote only blanks and a comment may follow on that line.
      let j = i;
      while (j < text.length && BLANK.test(text[j])) j++;
      if (j < text.length && text[j] !== '\n' && text[j] !== '#') {
        issues.push({ line: lineAt(j), message: `unexpected text after the closing quote of ${key}` });
        return { values, issues };
      }
      while (j < text.length && text[j] !== '\n') j++;
      i = j;
      const value = quote === "'" ? checked(raw, open) : expand(unescapeDouble(raw), open);
      if (value !== undefined) values.set(key, value);
      continue;
    }
    const valueStart = i;
    while (i < text.length && text[i] !== '\n') i++;
    let raw = text.slice(valueStart, i);
    const comment = raw.indexOf(' #');
    if (comment >= 0) raw = raw.slice(0, comment);
    raw = raw.replace(/\s+$/, '');
    const value = expand(raw, valueStart);
    if (value !== undefined) values.set(key, value);
  }
  return { values, issues };
}

function lineText(text: string, at: number): string {
  const end = text.indexOf('\n', at);
  return text.slice(at, end < 0 ? undefined : end).slice(0, 80);
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Shell-style escapes of a double-quoted value; `\$` becomes `$$` so interpolation leaves a literal `$`. */
function unescapeDouble(raw: string): string {
  return raw.replace(/\\(?:([abfnrtv"\\$])|0([0-7]{3}))/g, (_m: string, simple: string | undefined, octal: string | undefined) => {
    if (simple === '$') return '$$';
    if (simple !== undefined) return SIMPLE_ESCAPES[simple];
    return String.fromCharCode(parseInt(octal!, 8));
  });
}
