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

  /** Appends; returns how many old rows were dropped to make room. */
  push(rows: RawRow[]): number {
    for (const r of rows) this.rows.push(r);
    const over = this.rows.length - this.capacity;
    if (over <= 0) return 0;
    this.rows.splice(0, over);
    return over;
  }

  take(max: number): RawRow[] {
    return this.rows.splice(0, max);
  }

  /** Puts back rows whose write failed, ahead of newer ones; returns how many were dropped. */
  putBack(rows: RawRow[]): number {
    this.rows = rows.concat(this.rows);
    const over = this.rows.length - this.capacity;
    if (over <= 0) return 0;
    this.rows.splice(0, over);
    return over;
  }
}
