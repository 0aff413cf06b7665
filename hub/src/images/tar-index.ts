import type { FileHandle } from 'node:fs/promises';

/**
 * A table of contents of a tar file, read header by header with positional reads (the archive
 * itself may be gigabytes; only the 512-byte headers are read). Enough of POSIX ustar, GNU and
 * PAX for what `docker save` / `podman save` write: regular files, directories, links, GNU long
 * names and PAX `path` records. Anything that does not parse as tar is a TarError.
 */

export interface TarEntry {
  /** Path inside the archive, without a leading `./`. */
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '5' directory, ... (ustar typeflag). */
  type: string;
  /** Offset of the entry's data in the file. */
  offset: number;
  size: number;
}

export class TarError extends Error {}

const BLOCK = 512;
/** An image archive has a few entries per layer; far more is not one (and bounds the work). */
export const MAX_TAR_ENTRIES = 100_000;
/** GNU long names and PAX records are paths and a few attributes, never large. */
const MAX_META_BYTES = 64 * 1024;

function cString(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul >= 0 && nul < end ? nul : end);
}

function octal(buf: Buffer, start: number, end: number, what: string): number {
  const text = cString(buf, start, end).replace(/[ \0]+$/g, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad ${what} field in a tar header`);
  return Number.parseInt(text, 8);
}

/** The size field: octal, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function sizeField(h: Buffer): number {
  if ((h[124]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    if (!Number.isSafeInteger(n)) throw new TarError('tar entry size out of range');
    return n;
  }
  return octal(h, 124, 136, 'size');
}

/** True when the block is a valid tar header (its checksum matches). */
export function isTarHeader(h: Buffer): boolean {
  if (h.length < BLOCK) return false;
  let stored: number;
  try {
    stored = octal(h, 148, 156, 'checksum');
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** The `path` record of a PAX extended header ("<len> path=<value>\n" records). */
function paxPath(data: Buffer): string | undefined {
  let pos = 0;
  let path: string | undefined;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.toString('ascii', pos, space), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > data.length) throw new TarError('bad PAX record in a tar header');
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    pos += len;
  }
  return path;
}

const normal = (name: string): string => name.replace(/^(\.\/)+/, '');

async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Reads the table of contents of the tar file `fh` of `fileSize` bytes. Throws TarError. */
export async function indexTar(fh: FileHandle, fileSize: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  let paxName: string | undefined;
  for (;;) {
    if (pos >= fileSize) {
      // Some writers omit the two zero blocks at the end; an archive that ends on a boundary is whole.
      if (entries.length === 0) throw new TarError('the archive holds no files');
      return entries;
    }
    const h = await readAt(fh, BLOCK, pos);
    if (h.length < BLOCK) throw new TarError('the archive is truncated (a partial tar header at its end)');
    if (isZeroBlock(h)) {
      if (entries.length === 0) throw new TarError('the archive holds no files');
      return entries;
    }
    if (!isTarHeader(h)) {
      throw new TarError(pos === 0 ? 'not a tar archive (the first block is not a tar header)' : `corrupt tar header at byte ${pos}`);
    }
    const size = sizeField(h);
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const offset = pos + BLOCK;
    if (offset + size > fileSize) throw new TarError('the archive is truncated (an entry runs past its end)');
    pos = offset + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L' || type === 'x') {
      if (size > MAX_META_BYTES) throw new TarError('a tar extended header is implausibly large');
      const data = await readAt(fh, size, offset);
      if (type === 'L') longName = cString(data, 0, data.length);
      else paxName = paxPath(data) ?? paxName;
      continue;
    }
    if (type === 'g' || type === 'K') continue; // global PAX attributes, GNU long link names: not needed
    const magic = h.toString('latin1', 257, 263);
    const prefix = magic === 'ustar\0' ? cString(h, 345, 500) : '';
    const base = cString(h, 0, 100);
    const name = paxName ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = paxName = undefined;
    entries.push({ name: normal(name), type, offset, size });
    if (entries.length > MAX_TAR_ENTRIES) throw new TarError(`the archive has more than ${MAX_TAR_ENTRIES} entries`);
  }
}

/** The contents of one entry, refused past `maxBytes`. */
export async function readEntry(fh: FileHandle, entry: TarEntry, maxBytes: number): Promise<Buffer> {
  if (entry.size > maxBytes) throw new TarError(`${entry.name} is larger than ${maxBytes} bytes`);
  return readAt(fh, entry.size, entry.offset);
}
