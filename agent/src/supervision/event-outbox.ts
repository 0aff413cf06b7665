import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { envelope, type EventMessage } from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * Events waiting for the hub, kept on disk so an offline spell (or an agent restart in one) loses
 * none: each event gets its envelope id and per-device seq when it is added, is published on
 * `evt/{kind}` (QoS 1) whenever the link and the hub are up, and leaves only once the broker
 * acknowledged it (PUBACK). A redelivery after a lost PUBACK carries the same id, which the hub
 * deduplicates on.
 *
 * Disk format: an append-only journal of JSON lines, one per change, compacted (rewritten with
 * only the waiting events) once enough acknowledgements piled up:
 *   {"h":{"seq":N,"dropped":D}}   header: the last seq used and events dropped so far
 *   {"e":{...event}}              an event added
 *   {"a":"id"}                    acknowledged (gone)
 *   {"d":"id"}                    dropped unsent because the outbox was full (counted)
 *   {"s":N}                       seq N used by a message that is not kept (evt/sync)
 * A torn last line (power cut mid-write) is skipped on load.
 *
 * Bounded: at most maxEvents events and maxBytes of them; when full the oldest go, and the count
 * of dropped events is kept (and reported in the reported state).
 */

export const OUTBOX_FILE = 'outbox.jsonl';

/** What the outbox needs of the MQTT link (MqttLink satisfies it). */
export interface EventSink {
  readonly connected: boolean;
  readonly hubOnline: boolean;
  publish(leaf: string, payload: string, qos: 0 | 1, retain?: boolean): Promise<boolean>;
}

export interface EventOutboxOptions {
  dir: string;
  sink: EventSink;
  log: Logger;
  maxEvents?: number;
  maxBytes?: number;
  /** PUBACKs awaited at once. */
  window?: number;
  /** While events wait and the link is up, try again this often (a publish that timed out). */
  retryMs?: number;
}

/** An event as stored: the envelope without `ts` (set when sent). */
type Stored = Omit<EventMessage, 'ts'>;
type Line = { h: { seq: number; dropped: number } } | { e: Stored } | { a: string } | { d: string } | { s: number };

const DEFAULT_MAX_EVENTS = 10_000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const DROP_LOG_EVERY_MS = 60_000;

export class EventOutbox {
  private readonly events = new Map<string, { ev: Stored; bytes: number }>();
  private bytes = 0;
  private seq = 0;
  private droppedTotal = 0;
  /** Journal lines since the last compaction that no longer describe a waiting event. */
  private garbage = 0;
  private fh: FileHandle | undefined;
  private writing: Promise<void> = Promise.resolve();
  private lines: string[] = [];
  private readonly inFlight = new Set<string>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastDropLog = 0;
  private droppedLogged = 0;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly window: number;
  private readonly path: string;
  private closed = false;

  constructor(private readonly o: EventOutboxOptions) {
    this.maxEvents = o.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    this.window = o.window ?? 16;
    this.path = join(o.dir, OUTBOX_FILE);
  }

  get pending(): number {
    return this.events.size;
  }

  /** Events dropped unsent because the outbox was full, over the device's life. */
  get dropped(): number {
    return this.droppedTotal;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Reads the journal (if any), compacts it, and opens it for appending. */
  async open(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let skipped = 0;
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        skipped += 1;
        continue;
      }
      if ('h' in line) {
        this.seq = Math.max(this.seq, line.h.seq);
        this.droppedTotal = line.h.dropped;
      } else if ('e' in line) {
        this.seq = Math.max(this.seq, line.e.seq);
        this.put(line.e, Buffer.byteLength(raw));
      } else if ('a' in line) this.take(line.a);
      else if ('d' in line) {
        if (this.take(line.d)) this.droppedTotal += 1;
      } else if ('s' in line) this.seq = Math.max(this.seq, line.s);
    }
    if (skipped > 0) this.o.log.warn('skipped unreadable outbox lines (a write cut short)', { skipped });
    await this.compact();
  }

  /** Periodic retry while events wait; stops with `signal`. */
  start(signal: AbortSignal): void {
    const retryMs = this.o.retryMs ?? 30_000;
    this.timer = setInterval(() => {
      if (this.events.size > 0) void this.flush();
    }, retryMs);
    this.timer.unref?.();
    signal.addEventListener('abort', () => clearInterval(this.timer), { once: true });
    void this.flush();
  }

  /** Adds an event (kept until acknowledged) and tries to send it. Returns the stored message. */
  add(kind: string, data: Record<string, unknown>, at: number): Stored {
    const env = envelope('evt');
    const ev: Stored = { v: env.v, type: 'evt', id: env.id, kind, seq: ++this.seq, at, data };
    const line = JSON.stringify({ e: ev } satisfies Line);
    const bytes = Buffer.byteLength(line);
    while (this.events.size > 0 && (this.events.size >= this.maxEvents || this.bytes + bytes > this.maxBytes)) this.dropOldest();
    this.put(ev, bytes);
    this.append(line);
    void this.flush();
    return ev;
  }

  /** A seq for a message that is not kept (evt/sync), recorded so no seq is ever used twice. */
  reserveSeq(): number {
    const s = ++this.seq;
    this.append(JSON.stringify({ s } satisfies Line));
    return s;
  }

  /** Sends what waits, oldest first, up to `window` awaiting their PUBACK; never overlaps itself. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Waits for the journal to be written and closes it; the events stay on disk for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flushing;
    await this.writing;
    await this.fh?.close();
    this.fh = undefined;
  }

  private put(ev: Stored, bytes: number): void {
    this.events.set(ev.id, { ev, bytes });
    this.bytes += bytes;
  }

  /** Removes a waiting event; false if it was not there. */
  private take(id: string): boolean {
    const e = this.events.get(id);
    if (!e) return false;
    this.events.delete(id);
    this.bytes -= e.bytes;
    this.garbage += 2;
    return true;
  }

  private dropOldest(): void {
    const id = this.events.keys().next().value as string;
    this.take(id);
    this.droppedTotal += 1;
    this.append(JSON.stringify({ d: id } satisfies Line));
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
      this.o.log.warn('event outbox full, oldest events dropped', { dropped: this.droppedTotal - this.droppedLogged, total: this.droppedTotal });
      this.lastDropLog = now;
      this.droppedLogged = this.droppedTotal;
    }
  }

  private async drain(): Promise<void> {
    const running = new Set<Promise<void>>();
    let failed = false;
    while (!failed && !this.closed && this.o.sink.connected && this.o.sink.hubOnline) {
      let next: Stored | undefined;
      for (const { ev } of this.events.values()) {
        if (!this.inFlight.has(ev.id)) {
          next = ev;
          break;
        }
      }
      if (!next || running.size >= this.window) {
        if (running.size === 0) break;
        await Promise.race(running);
        continue;
      }
      const ev = next;
      this.inFlight.add(ev.id);
      const p: Promise<void> = this.o.sink
        .publish(`evt/${ev.kind}`, JSON.stringify({ ...ev, ts: Date.now() }), 1)
        .catch(() => false)
        .then((ok) => {
          if (ok) this.acked(ev.id);
          else failed = true;
        })
        .finally(() => {
          this.inFlight.delete(ev.id);
          running.delete(p);
        });
      running.add(p);
    }
    await Promise.all(running);
  }

  private acked(id: string): void {
    if (!this.take(id)) return;
    this.append(JSON.stringify({ a: id } satisfies Line));
    // Rewrite once the journal is mostly acknowledgements: bounded file, bounded replay.
    if (this.garbage > Math.max(1000, 2 * this.events.size)) void this.enqueue(() => this.compact());
  }

  private append(line: string): void {
    this.lines.push(line);
    if (this.lines.length === 1) void this.enqueue(() => this.writeLines());
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(job).catch((e: unknown) => this.o.log.warn('cannot write the event outbox', { err: e }));
    return this.writing;
  }

  /** Writes every queued line at once, then syncs: one flush to the card per batch. */
  private async writeLines(): Promise<void> {
    const batch = this.lines;
    this.lines = [];
    if (batch.length === 0) return;
    this.fh ??= await open(this.path, 'a', 0o600);
    await this.fh.appendFile(`${batch.join('\n')}\n`);
    await this.fh.datasync();
  }

  /** Rewrites the journal as a header and the waiting events. */
  private async compact(): Promise<void> {
    // Lines not yet written are part of the state below already.
    this.lines = [];
    const body = [JSON.stringify({ h: { seq: this.seq, dropped: this.droppedTotal } } satisfies Line)];
    for (const { ev } of this.events.values()) body.push(JSON.stringify({ e: ev } satisfies Line));
    await this.fh?.close();
    this.fh = undefined;
    await writeFileAtomic(this.path, `${body.join('\n')}\n`);
    this.garbage = 0;
  }

  /** Bytes the journal takes on disk now (for tests and diagnostics). */
  async fileBytes(): Promise<number> {
    await this.writing;
    return (await stat(this.path).catch(() => ({ size: 0 }))).size;
  }
}
