import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { DomainError } from '../common/errors.js';

/**
 * Input no route can use is refused at the edge with 400 `bad_request`, before any service or SQL
 * sees it: a NUL (U+0000) anywhere, and text that is not valid UTF-8 (a broken percent-escape, raw
 * bytes, an unpaired surrogate). PostgreSQL refuses both in text and jsonb with a data error, so
 * letting them through turned a client's mistake into a 500 logged as a hub failure.
 */

/** Deepest JSON body accepted: API bodies are flat; a deep one is an attack on the validators' recursion. */
export const MAX_BODY_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Printable ASCII only: anything else in a request target must be percent-encoded (RFC 3986).
const NOT_URL_CHAR = /[^\x21-\x7e]/;

function bad(message: string): DomainError {
  return new DomainError('bad_request', message);
}

/** Why a URL component (path or query) is unusable, or undefined when it is fine. */
function urlProblem(raw: string, part: 'path' | 'query'): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(part === 'query' ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return `the URL ${part} is not valid percent-encoded UTF-8`;
  }
  if (decoded.includes('\u0000')) return `the URL ${part} contains a NUL character (%00), which is never valid`;
  return undefined;
}

/** Refuses a request whose path or query does not decode to valid UTF-8, or holds a NUL. */
export function refuseBadUrl(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const url = req.originalUrl || req.url;
    if (NOT_URL_CHAR.test(url)) return next(bad('the URL has characters that must be percent-encoded'));
    const q = url.indexOf('?');
    const problem = urlProblem(q < 0 ? url : url.slice(0, q), 'path') ?? (q < 0 ? undefined : urlProblem(url.slice(q + 1), 'query'));
    next(problem ? bad(problem) : undefined);
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body parser, refusing bodies that are not UTF-8 (JSON's only encoding on the wire):
 * without this, invalid bytes were silently turned into U+FFFD and stored as such.
 */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, buf, encoding) => {
      const charset = String(encoding || 'utf-8').toLowerCase();
      if (charset !== 'utf-8' && charset !== 'utf8') throw Object.assign(new Error('JSON bodies must be UTF-8'), { status: 415 });
      try {
        utf8.decode(buf);
      } catch {
        throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400 });
      }
    },
  });
}

/** A readable location for a message, leaving out keys that are themselves odd. */
function where(path: (string | number)[]): string {
  if (path.length === 0) return '';
  const at = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : (i > 0 ? '.' : '') + (/^[\w-]{1,64}$/.test(k) ? k : '…'))).join('');
  return ` at ${at.startsWith('[') ? '(body)' + at : at}`;
}

function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'an unpaired UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

/** Why a parsed JSON body is unusable (NUL, lone surrogates, too deep), or undefined. Iterative, bounded. */
export function bodyProblem(body: unknown): string | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: body, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) return `request body contains ${p}${where(path)}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= MAX_BODY_DEPTH) return `request body is nested deeper than ${MAX_BODY_DEPTH} levels`;
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: [...path, i] }));
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      const p = textProblem(k);
      if (p) return `request body has a key with ${p}${where(path)}`;
      stack.push({ v: item, path: [...path, k] });
    }
  }
  return undefined;
}

/** Refuses a parsed JSON body that holds text no database column can store. Runs after jsonBody(). */
export function refuseBadBody(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const problem = req.body === undefined ? undefined : bodyProblem(req.body);
    next(problem ? bad(problem) : undefined);
  };
}
