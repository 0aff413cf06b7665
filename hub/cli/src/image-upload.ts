import { open, type FileHandle } from 'node:fs/promises';
import { CliError, UsageError } from './errors.js';

/**
 * Reading an image archive for `pifleet images push`: checked to be a tar or a gzip file before
 * anything is sent (a wrong file should fail in a second, not after a 500 MB upload), then read
 * in fixed chunks so memory stays flat whatever the size.
 */

/** Read size per chunk; the request body is pulled at this granularity. */
export const CHUNK_BYTES = 256 * 1024;

export type ArchiveKind = 'tar' | 'gzip';

/** `docker save` writes a POSIX tar (`ustar` at offset 257); `docker save | gzip` starts 1f 8b. */
export function archiveKind(head: Uint8Array): ArchiveKind | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

export interface OpenedArchive {
  kind: ArchiveKind;
  size: number;
  /** The whole file from the start, chunk by chunk; `onProgress` gets the bytes read so far. */
  chunks(onProgress: (sent: number) => void): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

export async function openArchive(path: string): Promise<OpenedArchive> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UsageError(`${path} is not a regular file`);
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const kind = archiveKind(head.subarray(0, bytesRead));
    if (kind === undefined) throw new UsageError(`${path} is neither a tar archive nor gzip-compressed (make one with: docker save IMAGE -o image.tar)`);
    const size = st.size;
    return {
      kind,
      size,
      chunks: async function* (onProgress) {
        let sent = 0;
        while (sent < size) {
          const buf = Buffer.alloc(Math.min(CHUNK_BYTES, size - sent));
          const { bytesRead: n } = await handle.read(buf, 0, buf.length, sent);
          // The file shrank while being sent: the hub would get fewer bytes than announced.
          if (n === 0) throw new CliError(`${path} changed while it was being sent`);
          sent += n;
          onProgress(sent);
          yield buf.subarray(0, n);
        }
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** `12.3 MiB`, `512 B`: binary units as `ls -h` prints them. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A progress line for a terminal, rewritten in place (`\r`), at most every `everyMs` so a fast
 * upload does not spend its time redrawing. `done()` erases it.
 */
export class ProgressLine {
  private last = Number.NEGATIVE_INFINITY;
  private shown = false;

  constructor(
    private readonly out: { write(s: string): unknown },
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = Date.now,
    private readonly everyMs = 100,
  ) {}

  update(sent: number): void {
    const t = this.now();
    if (sent < this.total && t - this.last < this.everyMs) return;
    this.last = t;
    const pct = this.total === 0 ? 100 : Math.floor((100 * sent) / this.total);
    this.out.write(`\r${this.label}: ${formatBytes(sent)} / ${formatBytes(this.total)} (${pct}%)\u001b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.out.write('\r\u001b[K');
    this.shown = false;
  }
}
