import { Duplex } from 'node:stream';

/**
 * One end of an in-memory connection: what one side writes, the other reads. A write completes only
 * when the peer's reader has room (its `push` returned true, or it asked for more), so a slow
 * reader holds the writer back instead of growing a buffer without bound.
 */
class PairEnd extends Duplex {
  peer!: PairEnd;
  /** Write callback parked until our reader drains (set on the *reading* end by its peer). */
  private parked: ((err?: Error | null) => void) | undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.peer.push(chunk)) done();
    else this.peer.parked = done;
  }

  override _read(): void {
    const done = this.parked;
    this.parked = undefined;
    done?.();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // The peer's parked write is released (its bytes are lost with the connection), then the
    // peer closes too, as the other end of a socket would.
    const parked = this.parked;
    this.parked = undefined;
    parked?.();
    if (!this.peer.destroyed) this.peer.destroy();
    done(err);
  }
}

/** Two connected in-memory duplex streams (Node 20 lacks stream.duplexPair, added in 22.6). */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
