import { createHash, type Hash } from 'node:crypto';
import { chmod, open, readdir, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { randomId } from '../common/ids.js';
import { IMAGES_SUBDIR, ensurePrivateDir } from '../db/file-modes.js';
import { isTarHeader } from './tar-index.js';

/**
 * The bundle files under `<data dir>/images/`: `<id>.tar` per stored bundle (uncompressed, so a
 * device feeds it to its engine's load as it is) and `incoming/` for uploads still arriving.
 * Directories 0700, files 0600, like everything else in the data dir.
 */

export class UploadTooLarge extends Error {}
export class UploadInvalid extends Error {}
export class UploadDiskFull extends Error {}

export interface ReceivedUpload {
  /** The uncompressed archive, in `incoming/` until adopted. */
  tmpPath: string;
  sha256: string;
  size: number;
  /** sha256 of each `chunkBytes` piece (the last one shorter). */
  chunks: string[];
  gzip: boolean;
}

const GZIP = Buffer.from([0x1f, 0x8b]);
const OTHER_COMPRESSION: [Buffer, string][] = [
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
  [Buffer.from('BZh'), 'bzip2'],
];
/** Enough bytes to tell the formats apart. */
const SNIFF_BYTES = 6;
/** Writes are gathered to about this size: fewer syscalls than one per 16 KiB socket read, still bounded. */
const WRITE_BATCH = 1024 * 1024;

const isDiskFull = (e: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException)?.code ?? '');

/** Counts bytes in and refuses the stream past `max`. */
class ByteLimit extends Transform {
  seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) cb(new UploadTooLarge(`the upload is larger than ${this.max} bytes`));
    else cb(null, chunk);
  }
}

/** sha256 of the whole and of each fixed-size piece, fed in one pass. */
class ChunkHasher {
  private readonly whole: Hash = createHash('sha256');
  private piece: Hash = createHash('sha256');
  private inPiece = 0;
  readonly chunks: string[] = [];
  constructor(private readonly chunkBytes: number) {}

  update(buf: Buffer): void {
    this.whole.update(buf);
    let off = 0;
    while (off < buf.length) {
      const take = Math.min(this.chunkBytes - this.inPiece, buf.length - off);
      this.piece.update(buf.subarray(off, off + take));
      this.inPiece += take;
      off += take;
      if (this.inPiece === this.chunkBytes) this.endPiece();
    }
  }

  digest(): string {
    if (this.inPiece > 0) this.endPiece();
    return this.whole.digest('hex');
  }

  private endPiece(): void {
    this.chunks.push(this.piece.digest('hex'));
    this.piece = createHash('sha256');
    this.inPiece = 0;
  }
}

async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let pending = bufs;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending);
    let n = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (n >= b.length) n -= b.length;
      else {
        rest.push(b.subarray(n));
        n = 0;
      }
    }
    pending = rest;
  }
}

/** Yields `head` first, then whatever is left of `it` (the bytes read to sniff the format are not lost). */
async function* prepend(head: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

export class BundleFiles {
  readonly dir: string;
  private readonly incoming: string;

  constructor(
    dataDir: string,
    private readonly opts: { maxBytes: number; chunkBytes: number },
  ) {
    this.dir = join(dataDir, IMAGES_SUBDIR);
    this.incoming = join(this.dir, 'incoming');
  }

  /** Creates the directories; uploads a crash or restart cut off are removed. */
  async init(): Promise<void> {
    ensurePrivateDir(this.dir);
    ensurePrivateDir(this.incoming);
    for (const name of await readdir(this.incoming)) await rm(join(this.incoming, name), { force: true });
  }

  pathOf(id: string): string {
    return join(this.dir, `${id}.tar`);
  }

  /** Ids of the bundle files on disk (to find files a crash left without a row). */
  async storedIds(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith('.tar')).map((n) => n.slice(0, -'.tar'.length));
  }

  /** Bytes free for the hub in its data dir. */
  async freeBytes(): Promise<number> {
    const s = await statfs(this.dir);
    return s.bavail * s.bsize;
  }

  /**
   * Streams an upload to `incoming/`, uncompressing gzip, hashing the whole and each piece as it
   * goes. Throws UploadTooLarge past the limit (compressed or not), UploadInvalid for what is
   * clearly no tar archive, UploadDiskFull when the disk fills; the partial file is removed then.
   * The caller owns `source`: it is never destroyed here (so an error answer can still be sent).
   */
  async receive(source: Readable): Promise<ReceivedUpload> {
    const tmpPath = join(this.incoming, `${randomId(16)}.part`);
    const fh = await open(tmpPath, 'wx', 0o600);
    const limit = new ByteLimit(this.opts.maxBytes);
    // pipe(), not pipeline(): an error downstream unpipes the request instead of destroying it.
    source.pipe(limit);
    const onSourceError = (e: Error) => limit.destroy(e);
    // A client that goes away mid-upload ends the request without 'end': stop waiting for it.
    const onSourceClose = () => {
      if (!source.readableEnded) limit.destroy(new Error('the client went away during the upload'));
    };
    source.on('error', onSourceError);
    source.on('close', onSourceClose);
    try {
      const upload = await this.consume(limit, fh, tmpPath);
      await fh.sync(); // a row must never point at a file a crash left short
      await fh.close();
      await chmod(tmpPath, 0o600);
      return upload;
    } catch (e) {
      source.unpipe(limit);
      limit.destroy();
      await fh.close().catch(() => undefined);
      await rm(tmpPath, { force: true });
      if (isDiskFull(e)) throw new UploadDiskFull("the hub's data dir is full; free space there or upload a smaller bundle", { cause: e });
      if (typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code!.startsWith('Z_')) {
        throw new UploadInvalid(`the body starts like gzip but does not decompress (${(e as Error).message})`);
      }
      throw e;
    } finally {
      source.off('error', onSourceError);
      source.off('close', onSourceClose);
    }
  }

  private async consume(limited: Readable, fh: FileHandle, tmpPath: string): Promise<ReceivedUpload> {
    const it = limited[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head = Buffer.alloc(0);
    while (head.length < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) break;
      head = Buffer.concat([head, r.value]);
    }
    if (head.length === 0) throw new UploadInvalid('the body is empty; send the archive `docker save` wrote');
    for (const [magic, name] of OTHER_COMPRESSION) {
      if (head.subarray(0, magic.length).equals(magic)) throw new UploadInvalid(`the archive is ${name}-compressed; send it uncompressed or gzip-compressed`);
    }
    const gzip = head.subarray(0, 2).equals(GZIP);
    const raw = Readable.from(prepend(head, it), { objectMode: false });
    let plain: Readable = raw;
    if (gzip) {
      const gunzip = createGunzip();
      pipeline(raw, gunzip, () => undefined);
      plain = gunzip;
    }

    const hasher = new ChunkHasher(this.opts.chunkBytes);
    let size = 0;
    let first: Buffer | undefined = Buffer.alloc(0);
    let batch: Buffer[] = [];
    let batched = 0;
    for await (const buf of plain as AsyncIterable<Buffer>) {
      size += buf.length;
      if (size > this.opts.maxBytes) throw new UploadTooLarge(`the archive is larger than ${this.opts.maxBytes} bytes uncompressed`);
      if (first !== undefined) {
        // Refuse what is no tar at all as soon as its first header is in, not after storing it all.
        first = Buffer.concat([first, buf]);
        if (first.length >= 512) {
          if (!isTarHeader(first.subarray(0, 512))) throw new UploadInvalid(`not a tar archive${gzip ? ' inside the gzip stream' : ''} (the first block is not a tar header)`);
          first = undefined;
        }
      }
      hasher.update(buf);
      batch.push(buf);
      batched += buf.length;
      if (batched >= WRITE_BATCH) {
        await writeAll(fh, batch);
        batch = [];
        batched = 0;
      }
    }
    if (first !== undefined) throw new UploadInvalid('not a tar archive (shorter than one tar header)');
    await writeAll(fh, batch);
    const sha256 = hasher.digest();
    return { tmpPath, sha256, size, chunks: hasher.chunks, gzip };
  }

  /** Moves a received upload to its place as bundle `id`. */
  async adopt(tmpPath: string, id: string): Promise<void> {
    await rename(tmpPath, this.pathOf(id));
  }

  async discard(tmpPath: string): Promise<void> {
    await rm(tmpPath, { force: true });
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}
