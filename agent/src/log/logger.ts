/**
 * One JSON line per event on stderr (stdout stays free for anything a wrapper may pipe).
 * Secrets never reach the sink: any field whose key looks like a credential is replaced before
 * serialisation, so a careless `log.info('x', { config })` cannot leak the token or MQTT password.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bound: LogFields): Logger;
}

const SECRET_KEY = /token|password|passwd|secret|private|authorization/i;
const MAX_DEPTH = 4;

/** Copies `value` with secret-looking keys redacted; bounded depth so cycles cannot hang a log call. */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  bound: LogFields = {},
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const extra = redact({ ...bound, ...fields }) as LogFields;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: lvl, msg, ...extra })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (more) => createLogger(level, write, { ...bound, ...more }),
  };
}
