/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * delay = random(0, min(cap, base * 2^attempt)). Full jitter spreads a whole fleet that lost
 * the hub at the same instant across the window instead of stampeding it in lock-step.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Injected for tests; must return a value in [0, 1). */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.baseMs > 0) || !(opts.capMs >= opts.baseMs)) throw new RangeError('backoff needs 0 < baseMs <= capMs');
    this.random = opts.random ?? Math.random;
  }

  /** Upper bound of the next delay, without consuming an attempt. */
  ceiling(): number {
    // 2^attempt grows past any cap quickly; clamping the exponent keeps the number finite.
    return Math.min(this.opts.capMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /** Delay before the next attempt, in whole ms; each call widens the window up to the cap. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt += 1;
    return delay;
  }

  /** Call after a success so the next failure starts again from the base window. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts; the timer never outlives it. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
