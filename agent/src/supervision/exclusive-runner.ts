import type { Logger } from '../log/logger.js';
import type { Backoff } from '../util/backoff.js';
import { systemClock, type Clock } from './clock.js';

/**
 * One apply at a time (after balena-supervisor's exclusive runner, without its module state).
 * `trigger()` asks for another apply once the current one is done; `trigger({ cancel: true })`
 * (a newer desired state, the engine back) aborts the running one, which stops at its next safe
 * point (between steps; pulls take the signal), and starts again at once. A failed apply is
 * retried after a backoff delay that plain triggers do not cut short, so a crash-looping service
 * cannot turn an engine outage into a tight loop.
 */

/** `converged`: nothing left to do; `waiting`: only dependencies to wait for. */
export type ApplyOutcome = 'converged' | 'waiting';

export interface ExclusiveRunnerOptions {
  apply(signal: AbortSignal): Promise<ApplyOutcome>;
  onSuccess(outcome: ApplyOutcome): void;
  onFailure(err: unknown, retryInMs: number): void;
  backoff: Backoff;
  /**
   * While waiting for a dependency: look again after this long even if no event came, doubling
   * while the wait goes on (up to resyncMs); engine events still trigger at once.
   */
  waitPollMs: number;
  /** Converged: look again after this long anyway (an engine event can be missed). */
  resyncMs: number;
  log: Logger;
  clock?: Clock;
}

export class ExclusiveRunner {
  private readonly clock: Clock;
  private pending = false;
  /** Until the backoff delay is over only a cancelling trigger starts an apply. */
  private inBackoff = false;
  private current: AbortController | undefined;
  private wake: (() => void) | undefined;
  private timer: unknown;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private applies = 0;
  private waits = 0;

  constructor(private readonly o: ExclusiveRunnerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** Applies started so far (for tests and logs). */
  get count(): number {
    return this.applies;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  start(signal: AbortSignal): void {
    if (this.loop) return;
    if (signal.aborted) return;
    signal.addEventListener('abort', () => this.halt(), { once: true });
    this.pending = true;
    this.loop = this.run();
  }

  /** Asks for an apply; `cancel` aborts the running one and skips any backoff wait. */
  trigger(opts: { cancel?: boolean } = {}): void {
    if (this.stopped) return;
    this.pending = true;
    if (opts.cancel) {
      this.current?.abort();
      this.inBackoff = false;
      this.o.backoff.reset();
    }
    if (!this.inBackoff) this.wake?.();
  }

  /** Stops the loop (aborting a running apply) and resolves once it has ended. */
  async stop(): Promise<void> {
    this.halt();
    await this.loop;
  }

  private halt(): void {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.waitForWork();
      if (this.stopped) break;
      this.pending = false;
      const ac = new AbortController();
      this.current = ac;
      this.applies += 1;
      try {
        const outcome = await this.o.apply(ac.signal);
        if (ac.signal.aborted) continue;
        this.o.backoff.reset();
        this.o.onSuccess(outcome);
        this.waits = outcome === 'waiting' ? this.waits + 1 : 0;
        const poll = Math.min(this.o.resyncMs, this.o.waitPollMs * 2 ** Math.min(this.waits - 1, 20));
        this.armTimer(outcome === 'waiting' ? poll : this.o.resyncMs, false);
      } catch (e) {
        // Aborted by a newer trigger (which set `pending`) or by stop(): not a failure.
        if (ac.signal.aborted) continue;
        const delay = this.o.backoff.next();
        try {
          this.o.onFailure(e, delay);
        } catch (cb) {
          this.o.log.warn('apply failure handler threw', { err: cb });
        }
        this.armTimer(delay, true);
      } finally {
        this.current = undefined;
      }
    }
    this.clearTimer();
  }

  private armTimer(ms: number, backoff: boolean): void {
    this.clearTimer();
    this.inBackoff = backoff;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.inBackoff = false;
      this.pending = true;
      this.wake?.();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private waitForWork(): Promise<void> {
    if (this.stopped || (this.pending && !this.inBackoff)) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }
}
