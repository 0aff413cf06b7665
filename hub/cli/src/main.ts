#!/usr/bin/env node
import { run } from './program.js';

// `pifleet devices | head -1` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// Composition root: the only place that touches the real process. Setting exitCode instead of
// calling process.exit lets stdout drain when it is a pipe (large `--json` output).
process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  fetch: globalThis.fetch,
  now: () => new Date(),
});
