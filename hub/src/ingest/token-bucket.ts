/**
 * A token bucket: `capacity` tokens, refilled continuously at `perSecond`. take(n) succeeds when
 * n tokens are there, so a client may burst up to `capacity` and then sustain `perSecond`.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 when they are now). */
  waitMs(n: number, now: number): number {
    this.refill(now);
    if (this.tokens >= n) return 0;
    return this.perSecond > 0 ? Math.ceil(((Math.min(n, this.capacity) - this.tokens) / this.perSecond) * 1000) : Infinity;
  }

  /** A full bucket carries no state worth keeping: the caller may forget it. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    if (now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}

/**
 * One budget (messages, bytes, rows...) for every device: a bucket per device, created on first
 * use. Buckets that have refilled are forgotten on sweep(), so memory follows the number of
 * recently active devices, with a hard cap past which new devices are admitted unmetered (a full
 * map must not lock out well-behaved devices).
 */
export class DeviceBudget {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    private readonly maxTracked = 100_000,
  ) {}

  take(deviceId: string, n: number, now = Date.now()): boolean {
    let b = this.buckets.get(deviceId);
    if (!b) {
      if (this.buckets.size >= this.maxTracked) return true;
      b = new TokenBucket(this.capacity, this.perSecond, now);
      this.buckets.set(deviceId, b);
    }
    return b.take(n, now);
  }

  waitMs(deviceId: string, n: number, now = Date.now()): number {
    return this.buckets.get(deviceId)?.waitMs(n, now) ?? 0;
  }

  get tracked(): number {
    return this.buckets.size;
  }

  sweep(now = Date.now()): void {
    for (const [id, b] of this.buckets) if (b.isFull(now)) this.buckets.delete(id);
  }

  forget(deviceId: string): void {
    this.buckets.delete(deviceId);
  }
}
