import { classifyWriteError } from '../db/errors.js';

export interface IsolatedWrite<T> {
  written: number;
  rejected: number;
  /** Set when the database was unavailable: these rows were not written; keep them and retry later. */
  unwritten?: T[];
  error?: unknown;
}

/**
 * Writes `rows` with `write` (one multi-row statement per call). When the database refuses a
 * batch for its data (classifyWriteError: 'data'), the batch is split in halves until the rows
 * it refuses are alone; each of those goes to `onReject` and everything else is written. An
 * outage or unknown error stops the work and hands back what was not written, so the caller
 * can retry it with backoff. A batch of n rows with k bad ones costs about 2·k·log2(n) statements.
 *
 * This is the one write path of every ingest stream (presence, telemetry, and later ones), so a
 * single poisoned row never blocks the rows of other devices and is never retried forever.
 */
export async function writeIsolating<T>(
  rows: T[],
  write: (rows: T[]) => Promise<unknown>,
  onReject: (row: T, err: unknown) => void,
): Promise<IsolatedWrite<T>> {
  const stack: T[][] = rows.length ? [rows] : [];
  let written = 0;
  let rejected = 0;
  while (stack.length > 0) {
    const chunk = stack.pop()!;
    try {
      await write(chunk);
      written += chunk.length;
    } catch (err) {
      if (classifyWriteError(err) === 'transient') {
        const unwritten = [chunk, ...stack.reverse()].flat();
        return { written, rejected, unwritten, error: err };
      }
      if (chunk.length === 1) {
        onReject(chunk[0]!, err);
        rejected++;
        continue;
      }
      const mid = chunk.length >> 1;
      // The first half is written first (popped first): rows keep their order.
      stack.push(chunk.slice(mid), chunk.slice(0, mid));
    }
  }
  return { written, rejected };
}

/**
 * Delay before the next try after `failures` consecutive failed writes: 1 s doubling to 10 s,
 * with jitter so that several writers (or hubs) do not hammer a recovering database in step.
 */
export function retryDelayMs(failures: number): number {
  const base = Math.min(10_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}
