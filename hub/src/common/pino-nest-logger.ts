import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * Routes Nest's own log lines (module init, route mapping, errors) into the hub's pino logger so
 * every line the hub writes is structured JSON.
 */
const BOOT_CHATTER = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const ctx = context(rest);
    // Nest's start-up chatter (one line per module and per route) is for debugging, not operators.
    if (ctx !== undefined && BOOT_CHATTER.has(ctx)) this.pino.debug({ ctx }, text(message));
    else this.pino.info({ ctx }, text(message));
  }

  error(message: unknown, ...rest: unknown[]): void {
    // Nest passes (message, stack?, context?).
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    this.pino.error({ ctx: context(rest), stack }, text(message));
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.pino.warn({ ctx: context(rest) }, text(message));
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.pino.debug({ ctx: context(rest) }, text(message));
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.pino.trace({ ctx: context(rest) }, text(message));
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.pino.fatal({ ctx: context(rest) }, text(message));
  }
}

function text(message: unknown): string {
  if (message instanceof Error) return message.message;
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** Nest passes its context (class name) as the last string argument. */
function context(rest: unknown[]): string | undefined {
  const last = rest[rest.length - 1];
  return typeof last === 'string' ? last : undefined;
}
