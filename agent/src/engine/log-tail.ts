import { StringDecoder } from 'node:string_decoder';
/**
 * The last lines of a container's log. Without a TTY the engine multiplexes stdout and stderr
 * into frames (8-byte header: stream, 3 zero bytes, big-endian payload length); with one it sends
 * raw bytes. Lines keep the order the frames came in; memory is bounded by `lines` x `maxChars`.
 */
export const MAX_TAIL_LINES = 1000;
export const MAX_LINE_CHARS = 4096;

export class LineTail {
  private readonly out: string[] = [];
  /** Unfinished line per stream (1 = stdout, 2 = stderr, 0 = raw/TTY). */
  private readonly partial = new Map<number, string>();

  constructor(
    private readonly lines: number,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(stream: number, text: string): void {
    let rest = (this.partial.get(stream) ?? '') + text;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      this.line(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
    this.partial.set(stream, rest.length > this.maxChars ? rest.slice(0, this.maxChars) : rest);
  }

  private line(l: string): void {
    if (this.lines <= 0) return;
    const clean = l.endsWith('\r') ? l.slice(0, -1) : l;
    this.out.push(clean.length > this.maxChars ? clean.slice(0, this.maxChars) : clean);
    if (this.out.length > this.lines) this.out.shift();
  }

  finish(): string[] {
    for (const rest of this.partial.values()) if (rest) this.line(rest);
    this.partial.clear();
    return this.out.slice();
  }
}

/**
 * Splits a multiplexed (non-TTY) log stream into frames; feed chunks as they arrive. A frame's
 * payload is passed on in the pieces it arrives in, so one huge line never sits in memory whole.
 */
export class Demuxer {
  private header = Buffer.alloc(0);
  private stream = 0;
  private remaining = 0;

  constructor(private readonly onData: (stream: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let c = chunk;
    while (c.length > 0) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, c.length);
        this.onData(this.stream, c.subarray(0, n));
        this.remaining -= n;
        c = c.subarray(n);
        continue;
      }
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, c.subarray(0, need)]);
      c = c.subarray(need);
      if (this.header.length < 8) return;
      this.stream = this.header[0]!;
      this.remaining = this.header.readUInt32BE(4);
      this.header = Buffer.alloc(0);
    }
  }
}

/** Reads a whole log answer (stream or buffer) into its last `lines` lines. */
export async function tailOf(source: NodeJS.ReadableStream | Buffer, lines: number, tty: boolean): Promise<string[]> {
  const tail = new LineTail(Math.min(Math.max(0, lines), MAX_TAIL_LINES));
  // One decoder per stream so a UTF-8 character cut between frames is not garbled.
  const decoders = new Map<number, StringDecoder>();
  const text = (stream: number, b: Buffer): void => {
    let d = decoders.get(stream);
    if (!d) decoders.set(stream, (d = new StringDecoder('utf8')));
    tail.push(stream, d.write(b));
  };
  const demux = tty ? undefined : new Demuxer((s, p) => text(s, p));
  const feed = (chunk: Buffer): void => (demux ? demux.push(chunk) : text(0, chunk));
  if (Buffer.isBuffer(source)) feed(source);
  else for await (const chunk of source as AsyncIterable<Buffer | string>) feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return tail.finish();
}
