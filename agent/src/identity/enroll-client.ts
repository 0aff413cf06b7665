import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ApiErrorSchema, EnrollResponseSchema, type EnrollRequest, type EnrollResponse } from '@pifleet/protocol';
import { untrustedCertCode } from '../util/tls-trust.js';

export type EnrollOutcome =
  | { kind: 'enrolled'; response: EnrollResponse }
  /** The hub said no for good (bad/expired/used-up/revoked token, malformed request): do not retry. */
  | { kind: 'refused'; status: number; code: string; message: string }
  /** The hub's TLS certificate is not trusted (or names another host): retrying cannot help. */
  | { kind: 'untrusted'; code: string; message: string }
  /** Network error, timeout, 5xx, 429 or a garbled answer: worth another try later. */
  | { kind: 'retry'; reason: string };

export type EnrollFn = (hubUrl: string, request: EnrollRequest, signal: AbortSignal) => Promise<EnrollOutcome>;

export interface EnrollClientOptions {
  /** Trusted CAs for an https:// hub (see loadExtraCa); Node's defaults when absent. */
  ca?: string[];
}

const REQUEST_TIMEOUT_MS = 15_000;
/** The enroll answer is a few hundred bytes; anything much larger is not our hub. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Statuses that mean "try again later" even though they are 4xx. */
const TRANSIENT_4XX = new Set([408, 425, 429]);

interface Answer {
  status: number;
  statusText: string;
  location: string | undefined;
  body: unknown;
}

/**
 * One POST with a JSON body. node:http(s) rather than fetch: only they take a per-request `ca`
 * without an extra dependency (fetch would need an undici dispatcher).
 */
async function postJson(url: URL, payload: string, ca: string[] | undefined, signal: AbortSignal): Promise<Answer> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        signal,
        ...(ca ? { ca } : {}),
      },
      resolve,
    );
    req.on('error', reject);
    req.end(payload);
  });
  const head = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', location: res.headers.location };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      res.destroy();
      return { ...head, body: undefined };
    }
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    body = undefined;
  }
  return { ...head, body };
}

/**
 * POST <hub>/api/enroll. Never throws for hub or network trouble: the caller decides between exit
 * and retry from the outcome. The request body carries the token, so nothing here logs it.
 */
export function enrollClient(opts: EnrollClientOptions = {}): EnrollFn {
  return async (hubUrl, request, signal) => {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Answer;
    try {
      res = await postJson(new URL(`${hubUrl}/api/enroll`), JSON.stringify(request), opts.ca, AbortSignal.any([signal, timeout]));
    } catch (e) {
      const err = e as Error & { code?: string };
      const code = untrustedCertCode(err);
      if (code) return { kind: 'untrusted', code, message: err.message };
      if (timeout.aborted) return { kind: 'retry', reason: `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` };
      return { kind: 'retry', reason: err.code ?? err.message };
    }
    const body = res.body;
    if (res.status >= 200 && res.status < 300) {
      const r = EnrollResponseSchema.safeParse(body);
      if (r.success) return { kind: 'enrolled', response: r.data };
      return { kind: 'retry', reason: `hub answered ${res.status} with an unexpected body (is --hub the pifleet hub?)` };
    }
    if (res.status >= 300 && res.status < 400) {
      // Typically http:// answered by a proxy that redirects to https://. Not followed: a redirect
      // must not carry the token to a host the operator did not name.
      const to = res.location ?? 'elsewhere';
      return { kind: 'refused', status: res.status, code: 'redirect', message: `hub redirects to ${to}; pass that URL as --hub` };
    }
    const apiError = ApiErrorSchema.safeParse(body);
    const code = apiError.success ? apiError.data.code : `http_${res.status}`;
    const message = apiError.success ? apiError.data.message : res.statusText;
    if (res.status >= 400 && res.status < 500 && !TRANSIENT_4XX.has(res.status)) {
      return { kind: 'refused', status: res.status, code, message };
    }
    return { kind: 'retry', reason: `${res.status} ${code}: ${message}` };
  };
}

/** Enrollment with Node's default trust store (plus NODE_EXTRA_CA_CERTS). */
export const enrollOverHttp: EnrollFn = enrollClient();
