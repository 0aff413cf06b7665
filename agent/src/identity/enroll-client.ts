import { ApiErrorSchema, EnrollResponseSchema, type EnrollRequest, type EnrollResponse } from '@pifleet/protocol';

export type EnrollOutcome =
  | { kind: 'enrolled'; response: EnrollResponse }
  /** The hub said no for good (bad/expired/used-up/revoked token, malformed request): do not retry. */
  | { kind: 'refused'; status: number; code: string; message: string }
  /** Network error, timeout, 5xx, 429 or a garbled answer: worth another try later. */
  | { kind: 'retry'; reason: string };

export type EnrollFn = (hubUrl: string, request: EnrollRequest, signal: AbortSignal) => Promise<EnrollOutcome>;

const REQUEST_TIMEOUT_MS = 15_000;
/** Statuses that mean "try again later" even though they are 4xx. */
const TRANSIENT_4XX = new Set([408, 425, 429]);

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

/**
 * POST <hub>/api/enroll. Never throws for hub or network trouble: the caller decides between exit
 * and retry from the outcome. The request body carries the token, so nothing here logs it.
 */
export const enrollOverHttp: EnrollFn = async (hubUrl, request, signal) => {
  let res: Response;
  try {
    res = await fetch(`${hubUrl}/api/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { kind: 'retry', reason: err.cause?.code ?? err.cause?.message ?? err.message };
  }
  const body = await readJson(res);
  if (res.ok) {
    const r = EnrollResponseSchema.safeParse(body);
    if (r.success) return { kind: 'enrolled', response: r.data };
    return { kind: 'retry', reason: `hub answered ${res.status} with an unexpected body (is --hub the pifleet hub?)` };
  }
  const apiError = ApiErrorSchema.safeParse(body);
  const code = apiError.success ? apiError.data.code : `http_${res.status}`;
  const message = apiError.success ? apiError.data.message : res.statusText;
  if (res.status >= 400 && res.status < 500 && !TRANSIENT_4XX.has(res.status)) {
    return { kind: 'refused', status: res.status, code, message };
  }
  return { kind: 'retry', reason: `${res.status} ${code}: ${message}` };
};
