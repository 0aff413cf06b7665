import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnrollRequestSchema, PROTOCOL_VERSION, type EnrollRequest, type EnrollResponse } from '@pifleet/protocol';

export type EnrollReply = { status: number; body: unknown };

/**
 * Test stand-in for the hub's POST /api/enroll, only for agent-side enrollment behaviour
 * (the real hub is exercised by the system tests under test/). Records every request.
 */
export interface EnrollServer {
  url: string;
  requests: EnrollRequest[];
  /** Decides each reply; defaults to a successful enrollment pointing at `mqttUrl`. */
  reply: (req: EnrollRequest, n: number) => EnrollReply;
  close(): Promise<void>;
}

export const TEST_DEVICE_ID = 'abcdef123456';
export const TEST_MQTT_PASSWORD = 'mqtt-pass-0123456789';

export function enrolled(mqttUrl: string, name = 'test-pi'): EnrollResponse {
  return {
    deviceId: TEST_DEVICE_ID,
    name,
    fleet: 'default',
    mqtt: { url: mqttUrl, username: TEST_DEVICE_ID, password: TEST_MQTT_PASSWORD, clientId: TEST_DEVICE_ID },
    protocolVersion: PROTOCOL_VERSION,
  };
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('request too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startEnrollServer(mqttUrl: string): Promise<EnrollServer> {
  const requests: EnrollRequest[] = [];
  const srv: EnrollServer = {
    url: '',
    requests,
    reply: () => ({ status: 200, body: enrolled(mqttUrl) }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const send = (res: ServerResponse, r: EnrollReply): void => {
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
  };
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/enroll') return send(res, { status: 404, body: { code: 'not_found', message: 'no' } });
    body(req).then(
      (json) => {
        const parsed = EnrollRequestSchema.safeParse(json);
        if (!parsed.success) return send(res, { status: 400, body: { code: 'bad_request', message: parsed.error.message } });
        requests.push(parsed.data);
        send(res, srv.reply(parsed.data, requests.length));
      },
      () => send(res, { status: 400, body: { code: 'bad_request', message: 'bad json' } }),
    );
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  srv.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = srv.close;
  srv.close = () => {
    server.closeAllConnections();
    return close();
  };
  return srv;
}
