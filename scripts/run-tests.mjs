#!/usr/bin/env node
// Runs every compiled test file (unit tests next to the code, system tests under test/) with
// node's test runner, and ends with the line `N passed, N failed` that CI reads.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['agent/protocol/dist', 'agent/dist', 'hub/dist', 'hub/cli/dist', 'test/dist'];
const only = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = roots.flatMap((r) => walk(r, []));
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('no test files found (did `tsc -b` run?)');
  process.exit(1);
}

// Soak tests (*.soak.test.js) run after everything else, one at a time, so the latency and memory
// they assert are the hub's own and not those of neighbouring suites sharing the two cores.
const soak = files.filter((f) => f.endsWith('.soak.test.js'));
const regular = files.filter((f) => !f.endsWith('.soak.test.js'));

function run(list, concurrency, timeoutMs) {
  return new Promise((resolve) => {
    if (list.length === 0) return resolve({ passed: 0, failed: 0, skipped: 0, code: 0 });
    const args = ['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...list];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const num = (label) => Number((tail.match(new RegExp(`ℹ ${label} (\\d+)`)) ?? [])[1] ?? 0);
      resolve({ passed: num('pass'), failed: num('fail') + num('cancelled'), skipped: num('skipped'), code: code ?? 1 });
    });
  });
}

// One Podman service for the whole run, passed to every test process as PIFLEET_DOCKER_HOST
// (the engine tests' fixture, agent/src/testing/podman.ts, uses it instead of starting its own).
let podman;
if (!process.env.PIFLEET_DOCKER_HOST) {
  try {
    const { podmanBinary, startPodmanService } = await import(new URL('../agent/dist/testing/podman-service.js', import.meta.url).href);
    if (podmanBinary()) {
      podman = await startPodmanService();
      process.env.PIFLEET_DOCKER_HOST = podman.dockerHost;
    }
  } catch (err) {
    // The fixture then starts its own, or reports why it cannot.
    console.error(`podman service not started for the run: ${err.message}`);
  }
}
const stopPodman = async () => {
  const p = podman;
  podman = undefined;
  await p?.stop().catch((err) => console.error(`podman service stop: ${err.message}`));
};
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void stopPodman().then(() => process.exit(130)));

const a = await run(regular, 2, 240_000);
const b = await run(soak, 1, 900_000);
await stopPodman();
const passed = a.passed + b.passed;
const failed = a.failed + b.failed;
const skipped = a.skipped + b.skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(a.code || b.code);
