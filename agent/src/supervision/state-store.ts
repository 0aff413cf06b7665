import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { StateDesiredMessageSchema, type StateDesiredMessage } from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-file.js';
import type { PersistedCounters } from './service-machine.js';

/**
 * What supervision keeps in the agent's data dir, so a Pi that reboots without a network still
 * converges to what it last accepted, and an operator stop or a FATAL survives an agent restart:
 *
 * - desired.json: the last ACCEPTED desired state, exactly as received (validated again on load).
 * - services.json: per service the counters the supervisor needs (failed starts, crashes,
 *   restarts, the restart/reset seqs acted on, FATAL with the spec it failed with).
 *
 * Both are rewritten whole and atomically (they are small); counter writes are coalesced so a
 * crash loop does not turn into a write per transition on the SD card.
 */

export const DESIRED_FILE = 'desired.json';
export const COUNTERS_FILE = 'services.json';

const count = z.number().int().nonnegative();
const CountersSchema = z.object({
  failedStarts: count,
  crashes: count,
  restarts: count,
  crashLoop: z.boolean(),
  actedRestartSeq: count,
  actedResetSeq: count,
  fatal: z.object({ hash: z.string().max(64), rules: z.string().max(65_536), since: count, message: z.string().max(1024).optional() }).optional(),
});
const CountersFileSchema = z.object({ v: z.literal(1), services: z.record(z.string().max(256), CountersSchema) });

export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  private queued: Map<string, PersistedCounters> | undefined;
  private desiredWrites: Promise<void> = Promise.resolve();
  private desiredQueued: StateDesiredMessage | undefined;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  async init(): Promise<void> {
    await ensurePrivateDir(this.dir);
  }

  /** The last accepted desired state; undefined when there is none or it cannot be read (logged). */
  async loadDesired(): Promise<StateDesiredMessage | undefined> {
    const raw = await this.read(DESIRED_FILE);
    if (raw === undefined) return undefined;
    const r = StateDesiredMessageSchema.safeParse(raw);
    if (!r.success) {
      // Never guess: without a readable desired state the agent changes nothing until the hub sends one.
      this.log.error('stored desired state is invalid; waiting for the hub to send it again', { file: join(this.dir, DESIRED_FILE), issue: r.error.issues[0]?.message });
      return undefined;
    }
    return r.data;
  }

  /**
   * Writes `msg` as the accepted desired state. Writes never overlap, and of several queued only
   * the newest is written, so the file can never end up older than what was accepted last.
   * Rejects when the write of `msg` (or of a newer one queued behind it) failed.
   */
  saveDesired(msg: StateDesiredMessage): Promise<void> {
    const idle = this.desiredQueued === undefined;
    this.desiredQueued = msg;
    if (idle) {
      this.desiredWrites = this.desiredWrites
        .catch(() => undefined)
        .then(async () => {
          const latest = this.desiredQueued!;
          this.desiredQueued = undefined;
          await writeFileAtomic(join(this.dir, DESIRED_FILE), JSON.stringify(latest));
        });
    }
    return this.desiredWrites;
  }

  async loadCounters(): Promise<Map<string, PersistedCounters>> {
    const raw = await this.read(COUNTERS_FILE);
    if (raw === undefined) return new Map();
    const r = CountersFileSchema.safeParse(raw);
    if (!r.success) {
      this.log.error('stored supervision counters are invalid; starting from zero', { file: join(this.dir, COUNTERS_FILE), issue: r.error.issues[0]?.message });
      return new Map();
    }
    return new Map(Object.entries(r.data.services).map(([k, v]) => [k, stripUndefined(v)]));
  }

  /** Queues the counters to be written; only the newest snapshot is written if several queue up. */
  saveCounters(counters: Map<string, PersistedCounters>): void {
    const idle = this.queued === undefined;
    this.queued = new Map(counters);
    if (!idle) return;
    this.writing = this.writing.then(async () => {
      const snapshot = this.queued!;
      this.queued = undefined;
      const body = { v: 1 as const, services: Object.fromEntries(snapshot) };
      await writeFileAtomic(join(this.dir, COUNTERS_FILE), JSON.stringify(body)).catch((e: unknown) => {
        this.log.warn('cannot save supervision counters', { err: e });
      });
    });
  }

  /** Resolves once every queued write is on disk (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.queued !== undefined) await this.writing;
    await this.writing;
    await this.desiredWrites.catch(() => undefined);
  }

  private async read(name: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(join(this.dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.log.error(`cannot read ${name}`, { err: e });
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      this.log.error(`${name} is not JSON; ignoring it`, { file: join(this.dir, name) });
      return undefined;
    }
  }
}

function stripUndefined(v: z.output<typeof CountersSchema>): PersistedCounters {
  const out: PersistedCounters = {
    failedStarts: v.failedStarts,
    crashes: v.crashes,
    restarts: v.restarts,
    crashLoop: v.crashLoop,
    actedRestartSeq: v.actedRestartSeq,
    actedResetSeq: v.actedResetSeq,
  };
  if (v.fatal) out.fatal = { hash: v.fatal.hash, rules: v.fatal.rules, since: v.fatal.since, ...(v.fatal.message !== undefined ? { message: v.fatal.message } : {}) };
  return out;
}
