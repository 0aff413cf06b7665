import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log/logger.js';
import { waitFor } from '../testing/wait.js';
import { Backoff } from '../util/backoff.js';
import { ExclusiveRunner, type ApplyOutcome, type ExclusiveRunnerOptions } from './exclusive-runner.js';

const log = createLogger('error', () => undefined);

/** A runner whose apply is scripted per call; records concurrency, outcomes and failures. */
function harness(script: (n: number, signal: AbortSignal) => Promise<ApplyOutcome>, over: Partial<ExclusiveRunnerOptions> = {}) {
  let active = 0;
  let maxActive = 0;
  const successes: ApplyOutcome[] = [];
  const failures: [string, number][] = [];
  const signals: AbortSignal[] = [];
  const runner = new ExclusiveRunner({
    apply: async (signal) => {
      signals.push(signal);
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        return await script(signals.length, signal);
      } finally {
        active -= 1;
      }
    },
    onSuccess: (o) => successes.push(o),
    onFailure: (e, d) => failures.push([(e as Error).message, d]),
    backoff: new Backoff({ baseMs: 200, capMs: 200, random: () => 0.999 }),
    waitPollMs: 60_000,
    resyncMs: 60_000,
    log,
    ...over,
  });
  const stop = new AbortController();
  return { runner, stop, successes, failures, signals, max: () => maxActive };
}

/** Resolves when `signal` aborts (the apply's safe point), then throws like an aborted step. */
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

void test('one apply at a time: triggers during an apply queue exactly one more', async () => {
  let release!: () => void;
  const h = harness(async (n) => {
    if (n === 1) await new Promise<void>((r) => (release = r));
    return 'converged';
  });
  h.runner.start(h.stop.signal);
  await waitFor('first apply', () => (h.signals.length === 1 ? true : undefined));
  for (let i = 0; i < 5; i++) h.runner.trigger();
  release();
  await waitFor('second apply', () => (h.successes.length === 2 ? true : undefined));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.signals.length, 2);
  assert.equal(h.max(), 1);
  await h.runner.stop();
});

void test('a cancelling trigger aborts the running apply and starts again at once, not as a failure', async () => {
  const h = harness(async (n, signal) => (n === 1 ? untilAborted(signal) : 'converged'));
  h.runner.start(h.stop.signal);
  await waitFor('first apply', () => (h.signals.length === 1 ? true : undefined));
  h.runner.trigger({ cancel: true });
  await waitFor('second apply', () => (h.successes.length === 1 ? true : undefined));
  assert.equal(h.signals[0]!.aborted, true);
  assert.deepEqual(h.failures, []);
  await h.runner.stop();
});

void test('a failure is reported with its retry delay and retried after it; plain triggers do not cut it short', async () => {
  const started: number[] = [];
  const h = harness(async (n) => {
    started.push(Date.now());
    if (n === 1) throw new Error('engine down');
    return 'converged';
  });
  h.runner.start(h.stop.signal);
  await waitFor('failure', () => (h.failures.length === 1 ? true : undefined));
  assert.deepEqual(h.failures, [['engine down', 199]]);
  h.runner.trigger();
  h.runner.trigger();
  await waitFor('retry', () => (h.successes.length === 1 ? true : undefined), 3000);
  assert.ok(started[1]! - started[0]! >= 190, `retried after ${started[1]! - started[0]!} ms`);
  assert.equal(h.signals.length, 2);
  await h.runner.stop();
});

void test('a cancelling trigger retries a failed apply at once', async () => {
  const h = harness(async (n) => {
    if (n === 1) throw new Error('pull failed');
    return 'converged';
  }, { backoff: new Backoff({ baseMs: 60_000, capMs: 60_000 }) });
  h.runner.start(h.stop.signal);
  await waitFor('failure', () => (h.failures.length === 1 ? true : undefined));
  h.runner.trigger({ cancel: true });
  await waitFor('retry', () => (h.successes.length === 1 ? true : undefined), 2000);
  await h.runner.stop();
});

void test('waiting for a dependency looks again without a trigger, less often while the wait goes on', async () => {
  const at: number[] = [];
  const h = harness(async (n) => {
    at.push(Date.now());
    return n < 5 ? 'waiting' : 'converged';
  }, { waitPollMs: 40, resyncMs: 60_000 });
  h.runner.start(h.stop.signal);
  await waitFor('five applies', () => (h.successes.length === 5 ? true : undefined), 5000);
  assert.deepEqual(h.successes, ['waiting', 'waiting', 'waiting', 'waiting', 'converged']);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  assert.ok(gaps[0]! >= 35 && gaps[3]! >= 300, `gaps ${gaps.join(', ')} ms: 40, 80, 160, 320`);
  await h.runner.stop();
});

void test('stop aborts the running apply and ends the loop; later triggers do nothing', async () => {
  const h = harness(async (_n, signal) => untilAborted(signal));
  h.runner.start(h.stop.signal);
  await waitFor('first apply', () => (h.signals.length === 1 ? true : undefined));
  h.stop.abort();
  await h.runner.stop();
  assert.equal(h.signals[0]!.aborted, true);
  h.runner.trigger({ cancel: true });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(h.signals.length, 1);
  assert.deepEqual(h.failures, []);
});
