import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay standing in for a Pi's uplink. `down()` makes the network fail the way a power cut
 * or a dead cell modem does: open connections stay open but nothing more gets through, and new
 * connections are accepted and then hang. Only keepalive timeouts can notice. `cut()` is the loud
 * failure (connections reset, new ones refused). `up()` lets new connections through again.
 */
export class FlakyLink {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly held = new Set<Socket>();
  private isDown = false;
  private isCut = false;
  port = 0;

  constructor(readonly targetPort: number) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((inbound) => {
      if (this.isCut) inbound.destroy();
      else if (this.isDown) this.hold(inbound);
      else this.relay(inbound);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  down(): void {
    this.isDown = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      for (const s of [a, b]) {
        s.pause();
        // Either side may give up and close; the other must stay open and silent.
        s.removeAllListeners('close');
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        this.held.add(s);
      }
    }
    this.pairs.clear();
  }

  /** The far end is gone the loud way (a server restart): connections reset, new ones refused. */
  cut(): void {
    this.isCut = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  up(): void {
    this.isDown = false;
    this.isCut = false;
  }

  close(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    for (const s of this.held) s.destroy();
    this.server?.close();
  }

  private relay(inbound: Socket): void {
    const outbound = createConnection({ host: '127.0.0.1', port: this.targetPort });
    const pair: [Socket, Socket] = [inbound, outbound];
    this.pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      this.pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  }

  private hold(inbound: Socket): void {
    inbound.pause();
    inbound.on('error', () => undefined);
    this.held.add(inbound);
  }
}
