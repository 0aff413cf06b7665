import { retryDelayMs, writeIsolating } from '../ingest/isolating-write.js';

/**
 * How a pushed row ended, as far as its MQTT acknowledgement is concerned:
 * - `written`: committed (or found already stored: the write is idempotent);
 * - `rejected`: the database refused the row itself (isolated, counted by `onRejected`);
 * - `held`: the database is away; the row stays queued and is retried with backoff;
 * - `queued`: (with `settleOnQueue`) the row is in the queue; the writer stores it soon;
 * - `dropped`: too many pushes were already waiting for room (the caller counts it).
 */
export type PushOutcome = 'written' | 'rejected' | 'held' | 'queued' | 'dropped';

export interface WriteQueueOptions<T> {
  /** Total weight of the rows queued or being written at once; a push past it waits for room. */
  capacity: number;
  /** A row's share of the capacity (its size in bytes, say); 1 when absent. */
  weight?: (row: T) => number;
  /** Pushes that may wait for room; one more is dropped at once. */
  maxWaiters: number;
  /** Rows per statement. */
  batchRows: number;
  /** Rows with the same key are coalesced while they wait: `merge` says which one is kept. */
  key: (row: T) => string;
  merge: (queued: T, incoming: T) => T;
  /**
   * Resolve a push once its row is queued instead of once it is stored, so the writer can batch
   * what arrives one message at a time. Only for data the sender keeps offering until it is
   * replaced (retained state, which the broker hands over again at the next subscription): rows
   * in the queue are lost with the process.
   */
  settleOnQueue?: boolean;
  /** Writes one chunk in one statement; must be idempotent (a chunk may be written again after an outage). */
  write: (rows: T[]) => Promise<void>;
  onRejected: (row: T, err: unknown) => void;
  /** A failed write (database away): the rows are kept and tried again after `retryInMs`. */
  onFailed: (err: unknown, rows: number, retryInMs: number) => void;
}

interface Entry<T> {
  row: T;
  weight: number;
  settle: ((outcome: PushOutcome) => void)[];
}

/**
 * A bounded queue in front of one writer, for ingest streams whose messages must be stored
 * before they are acknowledged. A push resolves once its row is committed, or refused by the
 * database, or (database away) kept here for the retry: so with a healthy database the MQTT
 * acknowledgement follows the commit, and during an outage it follows the row into this bounded
 * queue, whose full state holds further acknowledgements back (the broker keeps the rest).
 * Rows with the same key are coalesced while they wait (a newer reported state replaces the one
 * queued; a redelivered event joins its first copy), which keeps one batch free of two rows for
 * one key and the queue bounded by the number of keys in flight.
 */
export class WriteQueue<T> {
  private queued = new Map<string, Entry<T>>();
  /** Weight queued plus weight handed to the writer and not yet settled: both count against the capacity. */
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  private working?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private closed = false;

  constructor(private readonly o: WriteQueueOptions<T>) {}

  /** Weight in use (see `capacity`). */
  get size(): number {
    return this.used;
  }

  /** Rows waiting for the writer. */
  get rows(): number {
    return this.queued.size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with the row's outcome (see PushOutcome); never rejects. */
  async push(row: T): Promise<PushOutcome> {
    const key = this.o.key(row);
    const weight = this.weigh(row);
    if (!this.queued.has(key)) {
      while (this.waiters.length > 0 || !this.fits(weight)) {
        if (this.waiters.length >= this.o.maxWaiters) return 'dropped';
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        // Woken in FIFO order when room was made; a row for the same key may have arrived meanwhile.
        if (this.queued.has(key) || this.fits(weight)) break;
      }
    }
    return new Promise<PushOutcome>((resolve) => {
      // While a retry is due (database away) the row is as safe here as it will be: held at once.
      const early = this.retry ? 'held' : this.o.settleOnQueue ? 'queued' : undefined;
      const settle = early ? [] : [resolve];
      const e = this.queued.get(key);
      if (e) {
        e.row = this.o.merge(e.row, row);
        this.reweigh(e);
        e.settle.push(...settle);
      } else {
        this.queued.set(key, { row, weight, settle });
        this.used += weight;
      }
      if (early) resolve(early);
      this.kick();
    });
  }

  /** Writes what is queued now (also after close, for shutdown); resolves when the writer is idle. */
  async flush(): Promise<void> {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.kick(true);
    while (this.working) await this.working;
  }

  /** No more retries are scheduled; a last flush() may still write what is held. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private kick(force = false): void {
    if (this.retry && !force) return; // a retry is due; it drains everything queued
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
      // A row queued after the writer's last look (a woken push, between its end and this) is not left behind.
      if (this.queued.size > 0 && !this.retry) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Rows pushed in the same turn (several handlers, an ack timeout's backlog) share one statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queued.size > 0) {
      const batch: Entry<T>[] = [];
      for (const [key, e] of this.queued) {
        this.queued.delete(key);
        batch.push(e);
        if (batch.length >= this.o.batchRows) break;
      }
      const rejected = new Set<T>();
      let r: Awaited<ReturnType<typeof writeIsolating<T>>>;
      try {
        r = await writeIsolating(
          batch.map((e) => e.row),
          (chunk) => this.o.write(chunk),
          (row, err) => {
            rejected.add(row);
            this.o.onRejected(row, err);
          },
        );
      } catch (err) {
        r = { written: 0, rejected: 0, unwritten: batch.map((e) => e.row), error: err };
      }
      const unwritten = new Set(r.unwritten ?? []);
      for (const e of batch) {
        if (unwritten.has(e.row)) continue;
        this.used -= e.weight;
        for (const s of e.settle) s(rejected.has(e.row) ? 'rejected' : 'written');
      }
      if (unwritten.size > 0) {
        this.holdBack(batch.filter((e) => unwritten.has(e.row)));
        this.failures++;
        const delay = retryDelayMs(this.failures);
        this.o.onFailed(r.error, unwritten.size, delay);
        if (!this.closed) {
          this.retry = setTimeout(() => {
            this.retry = undefined;
            this.kick();
          }, delay);
        }
        this.wake();
        return;
      }
      this.failures = 0;
      this.wake();
      // Let HTTP requests and other messages in between two statements.
      if (this.queued.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Rows not written go back ahead of newer ones (merged with a newer row for the same key, if
   * one arrived meanwhile), and their pushes resolve as `held`: the row is safe in the queue.
   */
  private holdBack(entries: Entry<T>[]): void {
    const back = new Map<string, Entry<T>>();
    for (const e of entries) {
      const key = this.o.key(e.row);
      const newer = this.queued.get(key);
      if (newer) {
        // The held row and the newer one become one entry: its weight is counted once.
        this.used -= e.weight + newer.weight;
        const merged: Entry<T> = { row: this.o.merge(e.row, newer.row), weight: 0, settle: newer.settle };
        this.reweigh(merged);
        back.set(key, merged);
      } else {
        back.set(key, { row: e.row, weight: e.weight, settle: [] });
      }
      for (const s of e.settle) s('held');
    }
    for (const [key, e] of this.queued) if (!back.has(key)) back.set(key, e);
    this.queued = back;
  }

  private weigh(row: T): number {
    return this.o.weight?.(row) ?? 1;
  }

  private reweigh(e: Entry<T>): void {
    const w = this.weigh(e.row);
    this.used += w - e.weight;
    e.weight = w;
  }

  /** An empty queue takes any row (one heavier than the whole capacity could never fit otherwise). */
  private fits(weight: number): boolean {
    return this.used === 0 || this.used + weight <= this.o.capacity;
  }

  /** Wakes waiting pushes in order; each checks for room itself and waits again when there is none. */
  private wake(): void {
    if (this.waiters.length === 0 || this.used >= this.o.capacity) return;
    for (const w of this.waiters.splice(0)) w();
  }
}
