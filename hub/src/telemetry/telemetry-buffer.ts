import type { RawRow } from './telemetry-units.js';

/**
 * Waiting pushes beyond which a push is refused. The MQTT link hands over one message at a time
 * and waits for it, so waiters pile up only when a message held its acknowledgement too long
 * and the link went on: one per ack timeout, hours of an outage before this is reached.
 */
const MAX_WAITERS = 1000;

/**
 * Bounded FIFO of rows waiting to be written. Nothing in it is ever dropped: when it is full a
 * push waits (FIFO) until the writer has written rows, which holds the MQTT acknowledgement and
 * so leaves the rest queued in the broker. Rows taken by the writer still count against the
 * capacity until they are written, so putting back a failed batch never overflows it either.
 * The only excess: one push larger than the whole capacity is let into an empty buffer (it
 * could never fit otherwise).
 */
export class TelemetryBuffer {
  private rows: RawRow[] = [];
  /** Rows handed to the writer and not yet settled (written, refused or put back). */
  private taken = 0;
  private readonly waiters: { rows: RawRow[]; admitted: () => void }[] = [];

  constructor(
    readonly capacity: number,
    private readonly maxWaiters = MAX_WAITERS,
  ) {}

  /** Rows waiting to be written (not counting those being written now). */
  get size(): number {
    return this.rows.length;
  }

  /** Pushes waiting for room. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Appends now when there is room, else once the writer has made room (after the pushes that
   * waited before). Resolves true once the rows are in; false, at once, only when too many
   * pushes are already waiting (the caller counts those rows as dropped).
   */
  push(rows: RawRow[]): Promise<boolean> | true | false {
    if (this.waiters.length === 0 && this.fits(rows.length)) {
      this.append(rows);
      return true;
    }
    if (this.waiters.length >= this.maxWaiters) return false;
    return new Promise<boolean>((resolve) => this.waiters.push({ rows, admitted: () => resolve(true) }));
  }

  take(max: number): RawRow[] {
    const out = this.rows.splice(0, max);
    this.taken += out.length;
    return out;
  }

  /**
   * The writer is done with `count` taken rows; `unwritten` of them (database away) go back
   * ahead of newer ones. What was written or refused makes room for waiting pushes.
   */
  settle(count: number, unwritten: RawRow[] = []): void {
    this.taken -= count;
    if (unwritten.length > 0) this.rows = unwritten.concat(this.rows);
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.rows.length)) {
      const w = this.waiters.shift()!;
      this.append(w.rows);
      w.admitted();
    }
  }

  private fits(n: number): boolean {
    const used = this.rows.length + this.taken;
    return used === 0 || used + n <= this.capacity;
  }

  private append(rows: RawRow[]): void {
    for (const r of rows) this.rows.push(r);
  }
}
