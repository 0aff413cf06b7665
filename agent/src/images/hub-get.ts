import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * One GET to the hub with the device's HTTP Basic credentials, the body read into memory up to a
 * bound. node:http(s) rather than fetch, for the same reason as enrollment: only they take the
 * agent's `ca` list per request without an extra dependency.
 */

export interface HubAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** True when the body was longer than `maxBytes` (then `body` holds only the first part). */
  overflow: boolean;
}

export interface HubGetOptions {
  authorization: string;
  agent: HttpAgent | HttpsAgent;
  signal?: AbortSignal;
  /** Longest silence on the connection before the request fails (a dead link, not a slow one). */
  idleMs: number;
  maxBytes: number;
  /** Called with each piece of body as it arrives, complete answer or not (counts what a cut wasted). */
  onBytes?: (n: number) => void;
}

export class HubTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

/** A keep-alive agent for one download: chunks reuse one connection while it holds. */
export function downloadAgent(url: URL, ca: string[] | undefined): HttpAgent | HttpsAgent {
  const opts = { keepAlive: true, maxSockets: 2 };
  return url.protocol === 'https:' ? new HttpsAgent({ ...opts, ...(ca ? { ca } : {}) }) : new HttpAgent(opts);
}

export function hubGet(url: URL, o: HubGetOptions): Promise<HubAnswer> {
  return new Promise<HubAnswer>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', agent: o.agent, headers: { authorization: o.authorization, accept: '*/*' }, ...(o.signal ? { signal: o.signal } : {}) });
    req.setTimeout(o.idleMs, () => req.destroy(new HubTimeout(`no data from the hub for ${Math.round(o.idleMs / 1000)} s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      let overflow = false;
      res.on('data', (d: Buffer) => {
        o.onBytes?.(d.length);
        if (overflow) return;
        if (size + d.length > o.maxBytes) {
          overflow = true;
          parts.push(d.subarray(0, o.maxBytes - size));
          size = o.maxBytes;
          // The rest is not wanted: this connection is not reused.
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), overflow: true });
          return;
        }
        parts.push(d);
        size += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), overflow }));
      res.on('error', reject);
      // A cut connection ends the response without 'end'.
      res.on('close', () => {
        if (!res.complete && !overflow) reject(Object.assign(new Error('the connection closed in the middle of the answer'), { code: 'ECONNRESET' }));
      });
    });
    req.end();
  });
}
