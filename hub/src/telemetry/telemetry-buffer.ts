import type { RawRow } from './telemetry-units.js';

/**
 * Bounded FIFO of rows waiting to be written. When full, the oldest rows go first (the newest
 * telemetry is the most useful); the caller counts what was dropped.
 */
export class TelemetryBuffer {
  private rows: RawRow[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.rows.length;
  }

  /** Appends; returns the old rows dropped to make room (usually none). */
  push(rows: RawRow[]): RawRow[] {
    for (const r of rows) this.rows.push(r);
    return this.trim();
  }

  take(max: number): RawRow[] {
    return this.rows.splice(0, max);
  }

  /** Puts back rows whose write failed, ahead of newer ones; returns the rows dropped to make room. */
  putBack(rows: RawRow[]): RawRow[] {
    this.rows = rows.concat(this.rows);
    return this.trim();
  }

  private trim(): RawRow[] {
    const over = this.rows.length - this.capacity;
    return over > 0 ? this.rows.splice(0, over) : [];
  }
}
