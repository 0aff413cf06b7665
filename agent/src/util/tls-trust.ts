import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';

/**
 * Certificate verification failures that another attempt cannot fix: the peer's certificate is
 * signed by a CA we do not trust, or does not name the host we dialled. Deliberately absent:
 * CERT_NOT_YET_VALID and CERT_HAS_EXPIRED — a Pi without a real-time clock boots with a stale
 * time until NTP syncs, so those are retried like any network error.
 */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The error's code when it is a certificate-trust failure (see UNTRUSTED_CODES), else undefined. */
export function untrustedCertCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNTRUSTED_CODES.has(code) ? code : undefined;
}

/** What to tell the operator after `untrustedCertCode` matched. */
export const TRUST_HINT = "pass the CA that signed the hub's certificate with --ca <file> (PIFLEET_AGENT_CA)";

/**
 * Reads `--ca`: one or more PEM certificates, trusted in addition to Node's built-in roots (a
 * private CA for a self-hosted hub). Returns the `ca` list for tls/https options. Throws an Error
 * with a one-line reason when the file is unreadable or holds no certificate.
 */
export async function loadExtraCa(path: string): Promise<string[]> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`--ca ${path}: cannot read (${err.code ?? err.message})`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`--ca ${path}: no PEM certificate in the file`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new Error(`--ca ${path}: not a valid certificate (${(e as Error).message})`);
    }
  }
  // Passing `ca` replaces Node's default trust store, so the built-in roots are kept explicitly.
  return [...rootCertificates, ...blocks];
}

/** True for localhost and loopback addresses, where plain http:// does not cross a network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
