import { Backoff, sleep } from '../util/backoff.js';
import type { EngineEvent } from './engine.js';
import { EngineError } from './engine.js';
import { toEngineError } from './errors.js';
import { normaliseEvent } from './event-normalise.js';
import { jsonLines } from './json-lines.js';

/**
 * Follows the engine's event stream until `signal` aborts, reconnecting with backoff when it
 * ends or cannot be opened. Events missed while down are not replayed (Podman's since/until
 * replay is unreliable): whoever watches resynchronises from a full listing on `onUp`, which is
 * called every time the stream is (re)established, the first time included, so the caller knows
 * from when on nothing is missed. `onDown` is called once per outage, not once per failed retry.
 */

export interface WatchHandlers {
  onEvent(e: EngineEvent): void;
  onDown?(err: Error): void;
  onUp?(): void;
}

export interface WatchOptions {
  baseMs?: number;
  capMs?: number;
  /** A stream that lived this long counts as a success: the next outage starts again from baseMs. */
  stableMs?: number;
  /** Where a throwing handler is reported; the watch goes on either way. */
  onHandlerError?(err: unknown): void;
}

export function watchEvents(
  open: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>,
  handlers: WatchHandlers,
  signal: AbortSignal,
  opts: WatchOptions = {},
): Promise<void> {
  const backoff = new Backoff({ baseMs: opts.baseMs ?? 250, capMs: opts.capMs ?? 10_000 });
  const stableMs = opts.stableMs ?? 10_000;
  const safe = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      opts.onHandlerError?.(err);
    }
  };
  let down = false;
  const goneDown = (err: unknown): void => {
    if (down) return;
    down = true;
    const e = err instanceof Error ? err : new Error(String(err));
    safe(() => handlers.onDown?.(e));
  };

  return (async () => {
    while (!signal.aborted) {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await open(signal);
      } catch (err) {
        if (signal.aborted) break;
        goneDown(toEngineError(err, 'other', 'open the event stream'));
        await sleep(backoff.next(), signal);
        continue;
      }
      const since = Date.now();
      down = false;
      safe(() => handlers.onUp?.());
      let ended: unknown = new EngineError('engine_down', 'the engine closed its event stream');
      try {
        for await (const raw of jsonLines(stream)) {
          const ev = normaliseEvent(raw);
          if (ev) safe(() => handlers.onEvent(ev));
        }
      } catch (err) {
        // A cut stream (ECONNRESET) is the engine going away, as the caller reads it.
        ended = toEngineError(err, 'other', 'event stream');
      }
      if (signal.aborted) break;
      if (Date.now() - since >= stableMs) backoff.reset();
      goneDown(ended);
      await sleep(backoff.next(), signal);
    }
  })();
}
