#!/usr/bin/env node
import './runtime-flags.js';
import { ConfigError } from './config/env.js';
import { banner } from './http/banner.js';
import { startHub, type RunningHub } from './http/start-hub.js';

/** A shutdown that takes longer than this is cut short, so a stuck connection cannot hang a restart. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  let hub: RunningHub;
  try {
    hub = await startHub();
  } catch (err) {
    process.stderr.write(`pifleet hub: ${startupError(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(banner(hub) + '\n');

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(1); // a second Ctrl-C means "now"
    closing = true;
    process.stderr.write(`pifleet hub: ${signal}, shutting down\n`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    hub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`pifleet hub: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** One line for what an operator can fix (bad settings, a port in use); the stack for anything else. */
function startupError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') return `address ${e.address ?? ''}:${e.port ?? ''} is in use; set PIFLEET_HTTP_PORT (or PIFLEET_HTTP_HOST) to a free one`;
  return String(e?.stack ?? err);
}

void main();
