import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BundleDownloadError, BundleFetcher } from '@pifleet/agent';
import { startTestHub } from '@pifleet/hub/testing';
import { dockerArchive, enrollDevice, uploadImage } from '@pifleet/hub/testing/images';
import { needService } from '../support/skip.js';

/**
 * Downloads from an HTTPS hub trust what the agent trusts for enrollment (`--ca`): with the
 * hub's CA they work; without it they stop at once with the hint, instead of retrying.
 */

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

test('an HTTPS hub: downloads with the --ca list work; without it, a clear untrusted-certificate error and no retries', { timeout: 120_000 }, async (ctx) => {
  if (!needService(ctx, 'openssl', hasOpenssl, 'apt-get install -y openssl')) return;
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-bundle-tls-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  // A self-signed certificate for 127.0.0.1 is its own CA.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const t = await startTestHub({ env: { PIFLEET_TLS_CERT: join(dir, 'cert.pem'), PIFLEET_TLS_KEY: join(dir, 'key.pem') } });
  ctx.after(() => t.close());
  assert.match(t.url, /^https:/);
  // The test's own setup requests (fetch, which takes no per-request CA) skip verification; the agent's never do.
  const previous = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
  let bundle: { id: string; sha256: string; size: number };
  let device: { id: string; password: string };
  try {
    const admin = await t.login();
    device = await enrollDevice(t, admin);
    const up = await uploadImage(t, admin, dockerArchive({ refs: ['example/tls:1'] }));
    assert.equal(up.status, 201, JSON.stringify(up.body));
    bundle = { id: up.body.id, sha256: up.body.sha256, size: up.body.size };
  } finally {
    if (previous === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = previous;
  }

  const loads: number[] = [];
  const engine = {
    async loadImage(a: NodeJS.ReadableStream): Promise<string[]> {
      let n = 0;
      for await (const c of a as AsyncIterable<Buffer>) n += c.length;
      loads.push(n);
      return ['example/tls:1'];
    },
    async hasImage(): Promise<boolean> {
      return false;
    },
  };
  const opts = { hubUrl: t.url, deviceId: device.id, password: device.password, engine, retryDelayMs: () => 60_000 };

  const untrusted = new BundleFetcher({ ...opts, dataDir: join(dir, 'a') });
  const err = await untrusted.ensure(bundle).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BundleDownloadError, String(err));
  assert.equal(err.retryable, false);
  assert.match(err.message, /not trusted .*--ca/);

  const trusted = new BundleFetcher({ ...opts, dataDir: join(dir, 'b'), ca: [readFileSync(join(dir, 'cert.pem'), 'utf8')] });
  await trusted.ensure(bundle);
  assert.deepEqual(loads, [bundle.size]);
});
