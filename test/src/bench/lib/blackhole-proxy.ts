import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay whose connections can be "blackholed": both sockets stay open but nothing more is
 * forwarded, as when a Pi loses power or its uplink dies. The broker can then only notice through
 * its keepalive timeout.
 */
export class BlackholeProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;

  constructor(readonly targetPort: number) {}

  start(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = createConnection({ host: '127.0.0.1', port: this.targetPort });
      inbound.pipe(outbound).pipe(inbound);
      const pair: [Socket, Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const drop = () => {
        inbound.destroy();
        outbound.destroy();
        this.pairs.delete(pair);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
    });
    return new Promise((r) => this.server!.listen(0, '127.0.0.1', () => {
      this.port = (this.server!.address() as { port: number }).port;
      r();
    }));
  }

  /** Stops forwarding on every connection; sockets stay open and silent towards the broker. */
  blackholeAll(): void {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
      // The client side may give up and close; keep the broker side open regardless.
      a.removeAllListeners('close');
      a.removeAllListeners('error');
      a.on('close', () => undefined).on('error', () => undefined);
    }
  }

  close(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.server?.close();
  }
}
