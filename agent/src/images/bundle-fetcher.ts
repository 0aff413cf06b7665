import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, statfs, type FileHandle } from 'node:fs/promises';
import type { Agent as HttpAgent } from 'node:http';
import type { ImageBundleRef } from '@pifleet/protocol';
import type { Engine, PullProgress } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import { TRUST_HINT, untrustedCertCode } from '../util/tls-trust.js';
import { BundleDiskFullError, BundleDownloadError, isDiskFull } from './bundle-errors.js';
import { BundleManifestSchema, chunkLength, MAX_MANIFEST_BYTES, type BundleManifest } from './bundle-manifest.js';
import { BundleState, SAFE_ID } from './bundle-state.js';
import { downloadAgent, hubGet, type HubAnswer } from './hub-get.js';

/**
 * Makes a hub-held image bundle available in the engine: downloaded chunk by chunk into the
 * agent's data dir, each chunk checked against the manifest's sha256 (a bad one is fetched
 * again), resumed from the last good chunk after a cut connection or an agent restart, the whole
 * archive checked against the desired state's sha256, then loaded and the download removed.
 */

export interface BundleFetcherOptions {
  /** The hub's HTTP base for downloads (the identity's `api.url`, else the URL it enrolled with). */
  hubUrl: string;
  deviceId: string;
  /** The device's MQTT password: the hub takes the same credentials for downloads. */
  password: string;
  /** The agent's data dir; bundles are kept in its `images/`. */
  dataDir: string;
  engine: Pick<Engine, 'loadImage' | 'hasImage'>;
  /** Trusted CAs for an https:// hub (loadExtraCa), as for enrollment. */
  ca?: string[];
  log?: Logger;
  /**
   * Free space kept beyond what the download still needs (default 64 MiB): the engine needs room
   * to unpack the layers, and the Pi's other writers need some too.
   */
  reserveBytes?: number;
  /** Attempts per chunk (and for the manifest) before the download fails; default 6. */
  attempts?: number;
  /** Wait before attempt `n` (1-based) of a chunk; default 0.5 s doubling up to 15 s. */
  retryDelayMs?: (attempt: number) => number;
  /** Longest silence on the connection before a request is given up (default 30 s). */
  idleMs?: number;
}

const DEFAULT_RESERVE = 64 * 1024 * 1024;
const DEFAULT_ATTEMPTS = 6;
const defaultDelay = (attempt: number): number => Math.min(15_000, 500 * 2 ** (attempt - 1));

/** A failure of one attempt that another attempt may fix. */
class Transient extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

export class BundleFetcher {
  private readonly state: BundleState;
  private readonly base: URL;
  private readonly authorization: string;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly attempts: number;
  private readonly delay: (attempt: number) => number;
  private readonly idleMs: number;
  private readonly reserve: number;
  /** Bytes of chunk bodies received, cut-off ones included (tests and the log: what a resume saved). */
  bytesFetched = 0;

  constructor(private readonly opts: BundleFetcherOptions) {
    this.state = new BundleState(opts.dataDir);
    this.base = new URL(opts.hubUrl.endsWith('/') ? opts.hubUrl : `${opts.hubUrl}/`);
    this.authorization = `Basic ${Buffer.from(`${opts.deviceId}:${opts.password}`).toString('base64')}`;
    this.attempts = Math.max(1, opts.attempts ?? DEFAULT_ATTEMPTS);
    this.delay = opts.retryDelayMs ?? defaultDelay;
    this.idleMs = opts.idleMs ?? 30_000;
    this.reserve = opts.reserveBytes ?? DEFAULT_RESERVE;
  }

  /**
   * Resolves once the bundle's images are in the engine. Rejects with BundleDownloadError
   * (`image_download_failed`), BundleDiskFullError (`disk_full`), an EngineError from the load,
   * or `signal.reason` when aborted (the download so far is kept for the next call).
   * Concurrent calls for one bundle share one download.
   */
  ensure(bundle: ImageBundleRef, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const running = this.inflight.get(bundle.id);
    if (running) return running;
    const p = this.run(bundle, onProgress, signal).finally(() => this.inflight.delete(bundle.id));
    this.inflight.set(bundle.id, p);
    return p;
  }

  private async run(bundle: ImageBundleRef, onProgress: ((p: PullProgress) => void) | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (!SAFE_ID.test(bundle.id)) throw new BundleDownloadError(`bundle id ${JSON.stringify(bundle.id.slice(0, 64))} is not one the hub gives`, false);
    signal?.throwIfAborted();
    await this.state.init();
    if (await this.isLoaded(bundle)) return;
    const agent = downloadAgent(this.base, this.opts.ca);
    try {
      const manifest = await this.fetchManifest(bundle, agent, signal);
      const part = this.state.partPath(bundle.id);
      const good = await this.resumePoint(bundle.id, manifest);
      const have = good * manifest.chunkSize;
      await this.checkSpace(manifest.size - have, bundle);
      if (good > 0) this.opts.log?.info('resuming image bundle download', { bundle: bundle.id, chunk: good, of: manifest.chunks.length });
      onProgress?.({ done: have, total: manifest.size });
      await this.download(bundle, manifest, good, agent, onProgress, signal);
      if ((await fileSha256(part)) !== bundle.sha256) {
        await this.state.clear(bundle.id);
        throw new BundleDownloadError(`bundle ${bundle.id}: the downloaded archive does not match its sha256 (the hub holds different content under this id)`, true);
      }
      signal?.throwIfAborted();
      const loaded = await this.opts.engine.loadImage(createReadStream(part));
      const refs = [...new Set([...manifest.refs, ...loaded])].slice(0, 64);
      await this.state.markLoaded(bundle.id, { sha256: bundle.sha256, refs, at: Date.now() });
      await this.state.clear(bundle.id);
      this.opts.log?.info('image bundle loaded', { bundle: bundle.id, refs, bytes: manifest.size });
    } finally {
      agent.destroy();
    }
  }

  /** Loaded before, and the engine still has every image it gave (an image prune removes them). */
  private async isLoaded(bundle: ImageBundleRef): Promise<boolean> {
    const entry = (await this.state.loaded())[bundle.id];
    if (!entry || entry.sha256 !== bundle.sha256 || entry.refs.length === 0) return false;
    for (const ref of entry.refs) {
      if (!(await this.opts.engine.hasImage(ref))) {
        this.opts.log?.info('image bundle loaded before but its image is gone from the engine; fetching again', { bundle: bundle.id, ref });
        await this.state.forgetLoaded(bundle.id);
        return false;
      }
    }
    return true;
  }

  /** How many leading chunks of an earlier partial download are verified and can stay. */
  private async resumePoint(id: string, m: BundleManifest): Promise<number> {
    const p = await this.state.progress(id);
    const size = await stat(this.state.partPath(id)).then((s) => s.size, () => -1);
    if (p && p.sha256 === m.sha256 && p.chunkSize === m.chunkSize && p.good <= m.chunks.length && size >= Math.min(p.good * m.chunkSize, m.size)) {
      return p.good;
    }
    if (p || size >= 0) await this.state.clear(id); // another bundle's bytes, or chunked differently
    return 0;
  }

  private async checkSpace(needed: number, bundle: ImageBundleRef): Promise<void> {
    const s = await statfs(this.state.dir);
    const free = s.bavail * s.bsize;
    if (free < needed + this.reserve) {
      throw new BundleDiskFullError(
        `not enough disk space for image bundle ${bundle.id}: it needs ${mib(needed)} in ${this.state.dir} plus ${mib(this.reserve)} kept free, and ${mib(free)} is free`,
      );
    }
  }

  private async download(
    bundle: ImageBundleRef,
    m: BundleManifest,
    from: number,
    agent: HttpAgent,
    onProgress: ((p: PullProgress) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const part = this.state.partPath(bundle.id);
    let fh: FileHandle;
    try {
      fh = await open(part, from > 0 ? 'r+' : 'w', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fh = await open(part, 'w', 0o600);
    }
    try {
      await fh.truncate(Math.min(from * m.chunkSize, m.size));
      for (let n = from; n < m.chunks.length; n++) {
        const data = await this.fetchChunk(bundle.id, m, n, agent, signal);
        // Data first, then the record that counts it: a power cut never leaves a chunk counted but unwritten.
        await writeAt(fh, data, n * m.chunkSize);
        await fh.datasync();
        await this.state.saveProgress(bundle.id, { sha256: m.sha256, chunkSize: m.chunkSize, good: n + 1 });
        onProgress?.({ done: Math.min((n + 1) * m.chunkSize, m.size), total: m.size });
      }
    } catch (e) {
      if (isDiskFull(e)) {
        await fh.close().catch(() => undefined);
        await this.state.clear(bundle.id);
        throw new BundleDiskFullError(`the disk filled up while downloading image bundle ${bundle.id} into ${this.state.dir}; the partial download was removed`, { cause: e });
      }
      throw e;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  private async fetchManifest(bundle: ImageBundleRef, agent: HttpAgent, signal: AbortSignal | undefined): Promise<BundleManifest> {
    const url = new URL(`api/images/${encodeURIComponent(bundle.id)}/manifest`, this.base);
    const body = await this.withRetries(`the manifest of bundle ${bundle.id}`, signal, async () => {
      const a = await this.get(url, agent, MAX_MANIFEST_BYTES, signal);
      this.refuseStatus(a, bundle.id);
      if (a.overflow) throw new BundleDownloadError(`the hub's manifest for bundle ${bundle.id} is implausibly large`, false);
      return a.body;
    });
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BundleDownloadError(`the hub's manifest for bundle ${bundle.id} is not JSON (is the hub URL right?)`, false);
    }
    const r = BundleManifestSchema.safeParse(json);
    if (!r.success) throw new BundleDownloadError(`the hub's manifest for bundle ${bundle.id} is not valid: ${r.error.issues[0]?.message ?? 'bad shape'}`, false);
    const m = r.data;
    if (m.id !== bundle.id || m.sha256 !== bundle.sha256 || m.size !== bundle.size) {
      throw new BundleDownloadError(`the hub's bundle ${bundle.id} is not the one the desired state names (sha256 or size differ)`, false);
    }
    return m;
  }

  private async fetchChunk(id: string, m: BundleManifest, n: number, agent: HttpAgent, signal: AbortSignal | undefined): Promise<Buffer> {
    const url = new URL(`api/images/${encodeURIComponent(id)}/chunks/${n}`, this.base);
    const expected = chunkLength(m, n);
    return this.withRetries(`chunk ${n} of bundle ${id}`, signal, async () => {
      const a = await this.get(url, agent, expected, signal, (n) => (this.bytesFetched += n));
      this.refuseStatus(a, id);
      if (a.overflow || a.body.length !== expected) throw new Transient(`chunk ${n} has ${a.overflow ? 'more' : a.body.length} bytes, expected ${expected}`);
      if (sha256(a.body) !== m.chunks[n]) {
        this.opts.log?.warn('image bundle chunk failed its sha256 check; fetching it again', { bundle: id, chunk: n });
        throw new Transient(`chunk ${n} does not match its sha256`);
      }
      return a.body;
    });
  }

  private async get(url: URL, agent: HttpAgent, maxBytes: number, signal: AbortSignal | undefined, onBytes?: (n: number) => void): Promise<HubAnswer> {
    try {
      return await hubGet(url, { authorization: this.authorization, agent, idleMs: this.idleMs, maxBytes, ...(signal ? { signal } : {}), ...(onBytes ? { onBytes } : {}) });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const code = untrustedCertCode(e);
      if (code) throw new BundleDownloadError(`the hub's TLS certificate is not trusted (${code}); ${TRUST_HINT}`, false, { cause: e });
      throw new Transient(`${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Statuses that end the download; 5xx and 429 are worth another try. */
  private refuseStatus(a: HubAnswer, id: string): void {
    if (a.status === 200) return;
    if (a.status === 401 || a.status === 403) throw new BundleDownloadError(`the hub refused this device's credentials for bundle ${id} (${a.status}); is the device revoked?`, false);
    if (a.status === 404) throw new BundleDownloadError(`the hub has no image bundle ${id} (removed after the release was made?)`, false);
    if (a.status >= 500 || a.status === 429 || a.status === 408) throw new Transient(`the hub answered ${a.status}`);
    throw new BundleDownloadError(`the hub answered ${a.status} for bundle ${id}`, false);
  }

  private async withRetries<T>(what: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    let last = '';
    for (let i = 1; i <= this.attempts; i++) {
      if (i > 1) await sleep(this.delay(i - 1), signal);
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        last = e.message;
        this.opts.log?.debug('image bundle download attempt failed', { what, attempt: i, reason: last });
      }
    }
    throw new BundleDownloadError(`could not download ${what} after ${this.attempts} attempts: ${last}`, true);
  }
}
