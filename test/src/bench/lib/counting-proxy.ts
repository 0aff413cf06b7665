import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** TCP relay that counts bytes and reads (≈ TCP segments) in each direction. */
export class CountingProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  up = { bytes: 0, reads: 0 };
  down = { bytes: 0, reads: 0 };

  constructor(readonly targetPort: number) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((inbound) => {
      const outbound = createConnection({ host: '127.0.0.1', port: this.targetPort });
      this.sockets.add(inbound).add(outbound);
      inbound.on('data', (d) => { this.up.bytes += d.length; this.up.reads++; });
      outbound.on('data', (d) => { this.down.bytes += d.length; this.down.reads++; });
      inbound.pipe(outbound).pipe(inbound);
      const drop = () => { inbound.destroy(); outbound.destroy(); };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    return (this.server!.address() as { port: number }).port;
  }

  reset(): void {
    this.up = { bytes: 0, reads: 0 };
    this.down = { bytes: 0, reads: 0 };
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}
