import { EngineError } from './engine.js';

/**
 * Turns what dockerode throws (socket errors, `(HTTP code N) ...` errors with the engine's JSON
 * body) into an EngineError whose code the operator can act on. The engine's own message is
 * kept, cut to a bounded length: it is what says which port or which image.
 */

const MAX_MESSAGE = 512;

/** Socket-level failures: the engine is not there (no socket file, nobody listening, connection cut). */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EACCES']);

interface DockerodeError {
  code?: unknown;
  statusCode?: unknown;
  json?: unknown;
  reason?: unknown;
  message?: unknown;
}

/** The engine's message: the JSON body's `message` (Docker and Podman both use it), else the error text. */
export function engineMessage(err: unknown): string {
  const e = (err ?? {}) as DockerodeError;
  let msg: string | undefined;
  if (e.json && typeof e.json === 'object' && typeof (e.json as { message?: unknown }).message === 'string') msg = (e.json as { message: string }).message;
  else if (Buffer.isBuffer(e.json)) msg = e.json.toString('utf8');
  if (!msg) msg = typeof e.message === 'string' ? e.message : String(err);
  msg = msg.replace(/\s+/g, ' ').trim();
  return msg.length > MAX_MESSAGE ? `${msg.slice(0, MAX_MESSAGE - 1)}…` : msg;
}

export function isEngineDown(err: unknown): boolean {
  const e = (err ?? {}) as DockerodeError;
  if (typeof e.code === 'string' && DOWN_CODES.has(e.code)) return true;
  // An aborted or cut socket with no code (node reports "socket hang up").
  return e.statusCode === undefined && typeof e.message === 'string' && /socket hang up/i.test(e.message);
}

export function statusOf(err: unknown): number | undefined {
  const s = (err as DockerodeError | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** What the caller was doing: a failed pull is `image_pull_failed` whatever the status was. */
export type EngineOp = 'pull' | 'load' | 'create' | 'start' | 'other';

export function toEngineError(err: unknown, op: EngineOp, what: string): EngineError {
  if (err instanceof EngineError) return err;
  const msg = engineMessage(err);
  const text = `${what}: ${msg}`;
  if (isEngineDown(err)) return new EngineError('engine_down', `container engine not reachable (${what}): ${msg}`, { cause: err });
  if (/no space left on device|ENOSPC/i.test(msg)) return new EngineError('disk_full', text, { cause: err });
  if (op === 'pull') return new EngineError('image_pull_failed', text, { cause: err });
  // Docker: "port is already allocated" / "bind: address already in use"; Podman: "... bind: address already in use".
  if (/address already in use|port is already allocated|failed to bind|cannot listen on the (tcp|udp) port/i.test(msg)) {
    return new EngineError('port_conflict', text, { cause: err });
  }
  const status = statusOf(err);
  // Podman answers these with 500 where Docker says 409 and 404.
  if (/that name is already in use|name .* is already in use|already exists/i.test(msg)) return new EngineError('conflict', text, { cause: err });
  // In use: Docker's 403 "has active endpoints" (networks), Podman's 500 "is being used".
  if (/is being used|has active endpoints|volume is in use/i.test(msg)) return new EngineError('conflict', text, { cause: err });
  if (/network not found|no such network/i.test(msg)) return new EngineError('not_found', text, { cause: err });
  // Docker: "No such image: x"; Podman: "x: image not known".
  if (status === 404 && /no such image|image not known|image .*not found|manifest unknown/i.test(msg)) return new EngineError('image_missing', text, { cause: err });
  if (status === 404) return new EngineError('not_found', text, { cause: err });
  if (status === 409) return new EngineError('conflict', text, { cause: err });
  return new EngineError('engine_error', text, { cause: err });
}
