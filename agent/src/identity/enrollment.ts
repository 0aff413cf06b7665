import { PROTOCOL_VERSION, type DeviceInfo, type EnrollRequest } from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';
import { Backoff, sleep } from '../util/backoff.js';
import { TRUST_HINT, isLoopbackHost } from '../util/tls-trust.js';
import type { EnrollFn } from './enroll-client.js';
import type { Identity, IdentityStore } from './identity-store.js';
import { toOpenSshPublicKey } from './ssh-key.js';

/** Thrown when the agent cannot proceed and must exit with `exitCode` and this one-line message. */
export class FatalError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const EXIT_CONFIG = 2;
export const EXIT_ENROLL_REFUSED = 3;

export interface EnrollmentDeps {
  store: IdentityStore;
  enroll: EnrollFn;
  log: Logger;
  hubUrl: string | undefined;
  token: string | undefined;
  name: string | undefined;
  info: DeviceInfo;
  backoff?: Backoff;
}

/**
 * Returns the stored identity, or enrolls once to create it. With an identity on disk the token
 * is ignored: it was single-use, and the device must keep working after the token expires.
 * Resolves undefined only when `signal` aborted while still trying to enroll.
 */
export async function ensureIdentity(deps: EnrollmentDeps, signal: AbortSignal): Promise<Identity | undefined> {
  const { store, log } = deps;
  const existing = await store.loadIdentity();
  if (existing) {
    if (deps.token) log.info('already enrolled; ignoring the provisioning token', { deviceId: existing.deviceId });
    return existing;
  }
  if (!deps.hubUrl || !deps.token) {
    throw new FatalError(`not enrolled yet (no identity in ${store.dir}): --hub and --token are required`, EXIT_CONFIG);
  }
  if (new URL(deps.hubUrl).protocol === 'http:' && !isLoopbackHost(new URL(deps.hubUrl).hostname)) {
    // Allowed (a lab LAN, a hub behind a VPN), but the operator should know what crosses the wire.
    log.warn('hub URL is plain http: the provisioning token and the device credential travel in clear; use https://', {
      hub: deps.hubUrl,
    });
  }
  const { key, created } = await store.loadOrCreateKey();
  if (created) log.info('generated device key', { file: 'device-key.pem' });
  const request: EnrollRequest = {
    token: deps.token,
    publicKey: toOpenSshPublicKey(key.publicKey),
    info: deps.info,
    ...(deps.name ? { name: deps.name } : {}),
  };
  // Long cap: a Pi on first boot may wait minutes for Wi-Fi; there is no point hammering the hub.
  const backoff = deps.backoff ?? new Backoff({ baseMs: 1000, capMs: 60_000 });
  while (!signal.aborted) {
    log.info('enrolling', { hub: deps.hubUrl, attempt: backoff.attempts + 1 });
    const outcome = await deps.enroll(deps.hubUrl, request, signal);
    if (outcome.kind === 'enrolled') {
      const r = outcome.response;
      if (r.protocolVersion !== PROTOCOL_VERSION) {
        log.warn('hub speaks a different protocol version', { hub: r.protocolVersion, agent: PROTOCOL_VERSION });
      }
      const identity: Identity = { ...r, hub: deps.hubUrl, enrolledAt: Date.now() };
      await store.saveIdentity(identity);
      log.info('enrolled', { deviceId: r.deviceId, name: r.name, fleet: r.fleet });
      return identity;
    }
    if (outcome.kind === 'refused') {
      // No retry loop: a bad token stays bad, and a crash-looping container would only burn it.
      throw new FatalError(
        `enrollment refused by hub (${outcome.status} ${outcome.code}): ${outcome.message}`,
        EXIT_ENROLL_REFUSED,
      );
    }
    if (outcome.kind === 'untrusted') {
      // A certificate the agent does not trust stays untrusted: exit with the fix, do not loop.
      throw new FatalError(`hub certificate not trusted (${outcome.code}: ${outcome.message}); ${TRUST_HINT}`, EXIT_CONFIG);
    }
    if (signal.aborted) break;
    const delay = backoff.next();
    log.warn('enrollment failed, will retry', { reason: outcome.reason, retryInMs: delay });
    await sleep(delay, signal);
  }
  return undefined;
}
