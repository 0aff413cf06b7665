import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentProcess } from './support/agent-process.js';
import { Child, cleanEnv } from './support/child.js';
import { HubProcess } from './support/hub-process.js';
import { HUB_MAIN, tempDir } from './support/paths.js';
import { tryConnect, waitOnline } from './support/scenario.js';
import { needService } from './support/skip.js';
import { waitFor } from './support/wait.js';

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

interface TestPki {
  ca: string;
  cert: string;
  key: string;
  /** A valid key that belongs to no certificate here. */
  otherKey: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it (openssl CLI). */
function makePki(): TestPki {
  const dir = tempDir('tls');
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  // Own config files, so the result does not depend on the distribution's openssl.cnf.
  writeFileSync(
    f('ca.cnf'),
    [
      '[req]', 'prompt = no', 'distinguished_name = dn', 'x509_extensions = v3_ca',
      '[dn]', 'CN = pifleet test CA',
      '[v3_ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash',
    ].join('\n'),
  );
  writeFileSync(f('server.cnf'), ['[req]', 'prompt = no', 'distinguished_name = dn', '[dn]', 'CN = localhost'].join('\n'));
  writeFileSync(
    f('server-ext.cnf'),
    [
      'subjectAltName = IP:127.0.0.1,DNS:localhost', 'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth', 'authorityKeyIdentifier = keyid',
    ].join('\n'),
  );
  openssl('req', '-x509', '-config', 'ca.cnf', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2');
  openssl('req', '-new', '-config', 'server.cnf', ...newKey, '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server-ext.cnf', '-out', 'server.pem');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), otherKey: f('other.key') };
}

type Identity = ReturnType<AgentProcess['identity']>;

test('with PIFLEET_TLS_CERT/KEY an agent enrolls over HTTPS and reports over mqtts; without the CA it stops at once', { timeout: 60_000 }, async (t) => {
  if (!needService(t, 'openssl', hasOpenssl, 'apt-get install -y openssl')) return;
  const pki = makePki();
  const hub = await new HubProcess({ tls: pki }).start();
  t.after(() => hub.stop());
  assert.match(hub.url, /^https:/);
  const token = await hub.createToken({ maxUses: 2 });

  const agent = new AgentProcess({ hubUrl: hub.url, token, name: 'tls-pi' }).start(['--ca', pki.ca]);
  t.after(() => agent.stop('SIGKILL'));
  const identity = await waitFor<Identity>(
    'agent identity',
    () => {
      if (!agent.child!.running) throw new Error(`agent exited:\n${agent.child!.output}`);
      try {
        return agent.identity();
      } catch {
        return undefined;
      }
    },
    15_000,
  );
  assert.equal(identity.mqtt.url, `mqtts://127.0.0.1:${hub.mqttPort}`);
  await waitOnline(hub, identity.deviceId, true, 10_000);

  const admin = await hub.admin();
  const from = new Date(Date.now() - 3600_000).toISOString();
  await waitFor(
    'telemetry over mqtts',
    async () => {
      const r = await admin.get<{ points: unknown[] }>(`/api/devices/${identity.deviceId}/telemetry?resolution=raw&from=${from}`);
      return r.status === 200 && r.body.points.length > 0;
    },
    15_000,
    250,
  );

  // The broker port speaks only TLS: a plain MQTT CONNECT, even with a valid credential, gets nowhere.
  const plain = await tryConnect(identity, `mqtt://127.0.0.1:${hub.mqttPort}`);
  assert.notEqual(plain, 'connected');

  // No --ca: the private CA is unknown, so enrollment ends with one clear line, not a retry loop.
  const untrusting = new AgentProcess({ hubUrl: hub.url, token, name: 'no-ca-pi' }).start();
  t.after(() => untrusting.stop('SIGKILL'));
  const code = await untrusting.child!.waitExit();
  const out = untrusting.child!.output;
  assert.notEqual(code, 0, out);
  const last = out.trim().split('\n').at(-1)!;
  assert.match(last, /^pifleet-agent: hub certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*--ca <file>/);
  assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  assert.ok(!out.includes(token), 'token never printed');
  const list = await admin.get<{ name: string }[]>('/api/devices');
  assert.deepEqual(list.body.map((d) => d.name), ['tls-pi'], 'the refused agent left no device behind');
});

test('a TLS key that does not belong to the certificate stops the hub at boot with a clear error', { timeout: 30_000 }, async (t) => {
  if (!needService(t, 'openssl', hasOpenssl, 'apt-get install -y openssl')) return;
  const pki = makePki();
  const env = cleanEnv({
    PIFLEET_HTTP_PORT: '0',
    PIFLEET_MQTT_PORT: '0',
    PIFLEET_DATA_DIR: tempDir('hub'),
    PIFLEET_TLS_CERT: pki.cert,
    PIFLEET_TLS_KEY: pki.otherKey,
  });
  const hub = new Child(process.execPath, [HUB_MAIN], env, 'hub');
  t.after(() => hub.stop('SIGKILL'));
  assert.equal(await hub.waitExit(), 1);
  assert.equal(
    hub.output.trim(),
    `pifleet hub: PIFLEET_TLS_CERT/PIFLEET_TLS_KEY (${pki.cert}, ${pki.otherKey}): the key does not belong to the certificate`,
  );
});
