import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the hub's HTTP port that breaks downloads on purpose:
 * - `cutAfter(bytes, n, thereafter)`: each of the next `n` connections is closed after `bytes`
 *   bytes came back from the hub (a dropped mobile link mid-transfer), later ones after
 *   `thereafter` (default: never);
 * - `corruptBody(nth, offset, times)`: one byte is flipped in the body of the `nth` binary
 *   response (application/octet-stream) that passes, counted over all connections from now on
 *   (and in the `times - 1` binary responses after it).
 * Responses are framed by their Content-Length (the hub sends one on everything a download
 * reads), which is what lets a flip land inside a chunk and not in its headers.
 */
export class CuttingRelay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private cuts: { bytes: number; left: number; thereafter: number } | undefined;
  private corruption: { nth: number; offset: number; seen: number; times: number } | undefined;
  /** Bytes that came back from the hub, over all connections. */
  downstreamBytes = 0;
  connections = 0;
  /** Connections this relay cut. */
  cutCount = 0;
  /** Bodies it corrupted. */
  corrupted = 0;
  port = 0;

  constructor(
    readonly targetPort: number,
    readonly targetHost = '127.0.0.1',
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<number> {
    this.server = createServer((inbound) => this.relay(inbound));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** The next `connections` connections are cut after `bytes`; the ones after them after `thereafter` (0: at once). */
  cutAfter(bytes: number, connections = 1, thereafter = Infinity): void {
    this.cuts = { bytes, left: connections, thereafter };
  }

  /** With `times` > 1, the binary bodies after the nth are corrupted too, that many in all. */
  corruptBody(nth: number, offset: number, times = 1): void {
    this.corruption = { nth, offset, seen: 0, times };
  }

  /** Back to a plain relay, counters at zero. */
  reset(): void {
    this.cuts = undefined;
    this.corruption = undefined;
    this.downstreamBytes = 0;
    this.cutCount = 0;
    this.corrupted = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private relay(inbound: Socket): void {
    this.connections++;
    const outbound = createConnection({ host: this.targetHost, port: this.targetPort });
    this.sockets.add(inbound).add(outbound);
    let budget = Infinity;
    if (this.cuts && this.cuts.left > 0) {
      this.cuts.left--;
      budget = this.cuts.bytes;
    } else if (this.cuts) budget = this.cuts.thereafter;
    const framer = new ResponseFramer();
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      this.sockets.delete(inbound);
      this.sockets.delete(outbound);
    };
    inbound.on('data', (d: Buffer) => outbound.write(d));
    let cut = false;
    outbound.on('data', (d: Buffer) => {
      if (cut) return;
      const data = Buffer.from(d);
      this.corrupt(framer, data);
      const pass = data.length > budget ? data.subarray(0, budget) : data;
      budget -= pass.length;
      this.downstreamBytes += pass.length;
      inbound.write(pass);
      if (budget <= 0) {
        cut = true;
        this.cutCount++;
        // Let the bytes so far reach the client, then cut both ways.
        inbound.end(() => drop());
        outbound.destroy();
      }
    });
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  }

  /** Walks the response bytes in `data` (in place) and flips the chosen byte if it is in there. */
  private corrupt(framer: ResponseFramer, data: Buffer): void {
    framer.feed(data, (bodyStart, bodyOffset, len, binary, first) => {
      const c = this.corruption;
      if (!c || !binary) return;
      if (first) c.seen++;
      if (c.seen !== c.nth) return;
      const at = c.offset - bodyOffset;
      if (at >= 0 && at < len) {
        data[bodyStart + at]! ^= 0xff;
        this.corrupted++;
        if (--c.times > 0) c.nth++;
        else this.corruption = undefined;
      }
    });
  }
}

/** Splits one connection's response stream into heads and Content-Length bodies. */
class ResponseFramer {
  private head = '';
  private bodyLeft = 0;
  private bodyDone = 0;
  private binary = false;
  private firstPiece = false;

  /** Calls `onBody(start, offsetInBody, length, binary, firstPieceOfBody)` for each body piece in `data`. */
  feed(data: Buffer, onBody: (start: number, bodyOffset: number, len: number, binary: boolean, first: boolean) => void): void {
    let pos = 0;
    while (pos < data.length) {
      if (this.bodyLeft > 0) {
        const len = Math.min(this.bodyLeft, data.length - pos);
        onBody(pos, this.bodyDone, len, this.binary, this.firstPiece);
        this.firstPiece = false;
        this.bodyLeft -= len;
        this.bodyDone += len;
        pos += len;
        continue;
      }
      const end = data.indexOf('\r\n\r\n', pos, 'latin1');
      const take = end < 0 ? data.length : end + 4;
      this.head += data.toString('latin1', pos, take);
      pos = take;
      if (end < 0) {
        if (this.head.length > 64 * 1024) this.head = ''; // not HTTP as expected: stop framing
        continue;
      }
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(this.head);
      this.binary = /\r\ncontent-type:\s*application\/octet-stream/i.test(this.head);
      this.bodyLeft = length ? Number(length[1]) : 0;
      this.bodyDone = 0;
      this.firstPiece = true;
      this.head = '';
    }
  }
}
