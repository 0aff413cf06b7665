import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import type { Caller } from '../auth/roles.decorator.js';
import { DomainEvents } from '../common/domain-events.js';
import { DomainError } from '../common/errors.js';
import { randomId } from '../common/ids.js';
import { LOGGER } from '../common/tokens.js';
import { HubConfig } from '../config/hub-config.js';
import type { BundleManifest, ImageBundle } from '../contract.js';
import { InvalidArchive, readArchiveRefs } from './archive-refs.js';
import { BundleFiles, UploadDiskFull, UploadInvalid, UploadTooLarge } from './bundle-files.js';
import { ImagesRepository, type BundleRow } from './images.repository.js';

export function toImageBundle(r: BundleRow): ImageBundle {
  return {
    id: r.id,
    refs: r.refs,
    sha256: r.sha256,
    size: r.size,
    chunkSize: r.chunkSize,
    chunkCount: r.chunks.length,
    uploadedBy: r.uploadedBy,
    createdAt: r.createdAt.toISOString(),
  };
}

/** One piece of a bundle, opened for sending. */
export interface OpenChunk {
  fh: FileHandle;
  start: number;
  length: number;
  sha256: string;
}

@Injectable()
export class ImagesService implements OnModuleInit {
  readonly files: BundleFiles;

  constructor(
    config: HubConfig,
    private readonly repo: ImagesRepository,
    private readonly audit: AuditService,
    private readonly events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.files = new BundleFiles(config.dataDir, config.images);
    this.maxBytes = config.images.maxBytes;
    this.chunkBytes = config.images.chunkBytes;
  }

  private readonly maxBytes: number;
  private readonly chunkBytes: number;

  /** Cleans what a crash left: partial uploads, and files stored but never recorded. */
  async onModuleInit(): Promise<void> {
    await this.files.init();
    const known = await this.repo.ids();
    for (const id of await this.files.storedIds()) {
      if (!known.has(id)) {
        await this.files.remove(id);
        this.log.warn({ id }, 'image bundle file without a database row removed (an upload cut off by a crash)');
      }
    }
  }

  /**
   * Stores an uploaded archive: streamed to disk with its hashes, checked, recorded. The same
   * archive uploaded again answers with the bundle already stored (`created` false).
   */
  async upload(body: Readable, declaredLength: number | undefined, caller: Caller): Promise<{ bundle: ImageBundle; created: boolean }> {
    if (declaredLength !== undefined) {
      if (declaredLength > this.maxBytes) {
        return this.refused(caller, new DomainError('payload_too_large', `the archive is ${declaredLength} bytes; the limit is ${this.maxBytes} (PIFLEET_IMAGE_MAX_BYTES)`));
      }
      if (declaredLength > (await this.files.freeBytes())) {
        return this.refused(caller, new DomainError('disk_full', `the hub's data dir has less than the ${declaredLength} bytes free this upload needs`));
      }
    }
    let received;
    try {
      received = await this.files.receive(body);
    } catch (e) {
      if (e instanceof UploadTooLarge) return this.refused(caller, new DomainError('payload_too_large', `${e.message}; the limit is PIFLEET_IMAGE_MAX_BYTES`));
      if (e instanceof UploadInvalid) return this.refused(caller, new DomainError('invalid_image', e.message));
      if (e instanceof UploadDiskFull) {
        this.log.error({ err: e.cause }, 'image upload: the data dir is full');
        return this.refused(caller, new DomainError('disk_full', e.message));
      }
      throw e;
    }
    let refs: string[];
    try {
      const fh = await open(received.tmpPath, 'r');
      try {
        refs = await readArchiveRefs(fh, received.size);
      } finally {
        await fh.close();
      }
    } catch (e) {
      await this.files.discard(received.tmpPath);
      if (e instanceof InvalidArchive) return this.refused(caller, new DomainError('invalid_image', `not an image archive: ${e.message}`));
      throw e;
    }

    const existing = await this.repo.findBySha(received.sha256);
    if (existing) {
      await this.files.discard(received.tmpPath);
      await this.record(caller, 'image.upload', existing.id, 'ok', { sha256: existing.sha256, existing: true });
      return { bundle: toImageBundle(existing), created: false };
    }
    const id = randomId();
    try {
      await this.files.adopt(received.tmpPath, id);
    } catch (e) {
      await this.files.discard(received.tmpPath);
      throw e;
    }
    let stored: { row: BundleRow; created: boolean };
    try {
      stored = await this.repo.insertOrGet({
        id,
        refs,
        sha256: received.sha256,
        size: received.size,
        chunkSize: this.chunkBytes,
        chunks: received.chunks,
        uploadedBy: caller.userId,
      });
    } catch (e) {
      await this.files.remove(id);
      throw e;
    }
    // The same archive uploaded twice at once: the other upload's row won; this file goes.
    if (!stored.created) await this.files.remove(id);
    const bundle = toImageBundle(stored.row);
    this.log.info({ id: bundle.id, refs, size: bundle.size, gzip: received.gzip }, 'image bundle stored');
    if (stored.created) this.events.emit('images.changed', { bundleId: bundle.id, refs: bundle.refs, change: 'stored' });
    await this.record(caller, 'image.upload', bundle.id, 'ok', { sha256: bundle.sha256, refs, size: bundle.size, existing: !stored.created });
    return { bundle, created: stored.created };
  }

  async list(): Promise<ImageBundle[]> {
    return (await this.repo.list()).map(toImageBundle);
  }

  async remove(id: string, caller: Caller): Promise<ImageBundle> {
    const row = await this.find(id);
    const users = await this.repo.devicesUsing(row.id);
    if (users.length > 0) {
      await this.record(caller, 'image.remove', row.id, 'error', { reason: 'in_use', devices: users });
      throw new DomainError('conflict', `bundle ${row.id} (${row.refs.join(', ')}) is in the current release of ${users.join(', ')}; change or remove those apps first`);
    }
    await this.repo.delete(row.id);
    await this.files.remove(row.id);
    this.events.emit('images.changed', { bundleId: row.id, refs: row.refs, change: 'removed' });
    await this.record(caller, 'image.remove', row.id, 'ok', { sha256: row.sha256, refs: row.refs });
    return toImageBundle(row);
  }

  async manifest(id: string): Promise<BundleManifest> {
    const r = await this.find(id);
    return { id: r.id, refs: r.refs, sha256: r.sha256, size: r.size, chunkSize: r.chunkSize, chunks: r.chunks };
  }

  /** Opens piece `n` of a bundle; the caller closes `fh`. */
  async openChunk(id: string, n: number): Promise<OpenChunk> {
    const r = await this.find(id);
    const sha256 = r.chunks[n];
    if (sha256 === undefined) throw new DomainError('not_found', `bundle ${id} has ${r.chunks.length} chunks (0..${r.chunks.length - 1}); there is no chunk ${n}`);
    const start = n * r.chunkSize;
    const length = Math.min(r.chunkSize, r.size - start);
    let fh: FileHandle;
    try {
      fh = await open(this.files.pathOf(r.id), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DomainError('not_found', `bundle ${id} was removed`);
      throw e;
    }
    return { fh, start, length, sha256 };
  }

  private async find(id: string): Promise<BundleRow> {
    const row = /^[a-z0-9]{1,64}$/.test(id) ? await this.repo.findById(id) : null;
    if (!row) throw new DomainError('not_found', `no image bundle ${id}`);
    return row;
  }

  private async refused(caller: Caller, err: DomainError): Promise<never> {
    await this.record(caller, 'image.upload', '', 'error', { code: err.code, message: err.message });
    throw err;
  }

  private async record(caller: Caller, action: string, target: string, result: 'ok' | 'error', detail: Record<string, unknown>): Promise<void> {
    await this.audit.record({ actor: caller, action, targetType: 'image', target, result, detail });
  }
}
