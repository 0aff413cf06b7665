import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackHost, loadExtraCa, untrustedCertCode } from './tls-trust.js';

void test('loopback hosts are recognised; LAN and public names are not', () => {
  for (const h of ['localhost', 'pi.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['hub.example', '10.0.0.5', '192.168.1.2', '[fe80::1]', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
});

void test('only certificate-trust failures count as untrusted; clock and network errors do not', () => {
  assert.equal(untrustedCertCode({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(untrustedCertCode({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  for (const code of ['CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ECONNREFUSED', 5]) assert.equal(untrustedCertCode({ code }), undefined);
  assert.equal(untrustedCertCode(null), undefined);
});

void test('--ca: an unreadable file or one without a certificate is a one-line error naming the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pifleet-ca-'));
  try {
    const missing = join(dir, 'missing.pem');
    await assert.rejects(loadExtraCa(missing), (e: Error) => e.message === `--ca ${missing}: cannot read (ENOENT)`);
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'hello\n');
    await assert.rejects(loadExtraCa(junk), (e: Error) => e.message === `--ca ${junk}: no PEM certificate in the file`);
    const broken = join(dir, 'broken.pem');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(loadExtraCa(broken), (e: Error) => e.message.startsWith(`--ca ${broken}: not a valid certificate`) && !e.message.includes('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
