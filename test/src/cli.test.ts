import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningHub } from '@pifleet/hub';
import { startTestHub, type TestHub } from '@pifleet/hub/testing';
import { newConfigDir, runCli, type CliRun } from './support/cli.js';

/**
 * The `pifleet` CLI as scripts use it ("Interfaces that other tools will script
 * against"): the compiled binary as a child process against a real in-process hub.
 */
const ADMIN_PASSWORD = 'cli-test-admin-password';
const DEVICE_KEYS = ['id', 'name', 'fleet', 'online', 'lastSeenAt', 'tags', 'status'];

interface DeviceRow {
  id: string;
  name: string;
  fleet: string;
  online: boolean;
  lastSeenAt: string | null;
  tags: string[];
  status: string;
}

/** A real OpenSSH ed25519 public key line, as an agent would send at enrollment. */
function sshPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} cli-test`;
}

function oneErrorLine(r: CliRun): string {
  assert.equal(r.stderr.split('\n').length, 2, `exactly one stderr line, got: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, /^pifleet: /);
  return r.stderr.trimEnd();
}

void describe('pifleet CLI against a real hub', () => {
  let testHub: TestHub;
  let hub: RunningHub;
  let adminDir: string;
  const cleanup: string[] = [];

  const dir = (): string => {
    const d = newConfigDir();
    cleanup.push(d);
    return d;
  };
  /** Runs the CLI as the logged-in admin. */
  const admin = (args: string[], stdin?: string): Promise<CliRun> => runCli(args, { env: { PIFLEET_CONFIG: adminDir }, stdin });
  const ok = async (p: Promise<CliRun>): Promise<string> => {
    const r = await p;
    assert.equal(r.code, 0, `exit 0 expected; stderr: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  };
  const devices = async (...extra: string[]): Promise<DeviceRow[]> => JSON.parse(await ok(admin(['devices', '--json', ...extra]))) as DeviceRow[];
  const api = async (method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const res = await fetch(hub.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const enroll = (token: string, name: string) => api('POST', '/api/enroll', { token, name, publicKey: sshPublicKey(), info: { hostname: name } });
  const login = (configDir: string, user: string, password: string) =>
    runCli(['login', '--hub', hub.url, '--user', user, '--password-stdin'], { env: { PIFLEET_CONFIG: configDir }, stdin: `${password}\n` });

  before(async () => {
    // The CLI test covers the CLI, not the database driver: always embedded PGlite + aedes.
    testHub = await startTestHub({ env: { PIFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    hub = testHub.hub;
    adminDir = dir();
  });

  after(async () => {
    await testHub?.close();
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  void it('refuses a wrong password with exit 3 and one line, and stores nothing', async () => {
    const d = dir();
    const r = await login(d, 'admin', 'not-the-password');
    assert.equal(r.code, 3);
    assert.doesNotMatch(oneErrorLine(r), /not-the-password/);
    assert.throws(() => statSync(join(d, 'config.json')), /ENOENT/);
  });

  void it('logs in with --password-stdin and keeps the login in a 0600 config.json', async () => {
    const r = await login(adminDir, 'admin', ADMIN_PASSWORD);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as admin/);
    const file = join(adminDir, 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(adminDir).mode & 0o077, 0, 'config dir not readable by others');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(stored).sort(), ['expiresAt', 'hub', 'token', 'user']);
    assert.equal(stored['hub'], hub.url);
    assert.equal(stored['user'], 'admin');
    assert.ok(Date.parse(stored['expiresAt']!) > Date.now() + 86_400_000, 'a CLI login outlives a day');
    assert.ok(!r.stdout.includes(stored['token']!), 'the API token is not printed');
    assert.equal((await api('GET', '/api/auth/me', undefined, stored['token'])).status, 200);
  });

  void it('lists no devices on an empty hub: `devices --json` is []', async () => {
    assert.deepEqual(await devices(), []);
    assert.equal(await ok(admin(['devices'])), 'No devices.\n');
  });

  void it('creates a token that enrolls a device, which `devices --json` then lists with the stable keys', async () => {
    const created = JSON.parse(await ok(admin(['token', 'create', '--fleet', 'default', '--uses', '2', '--ttl', '1h', '--json']))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(created), ['token', 'id', 'fleet', 'expiresAt', 'maxUses', 'agentCommand']);
    assert.equal(created['fleet'], 'default');
    assert.equal(created['maxUses'], 2);
    const ttl = Date.parse(created['expiresAt'] as string) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, `expires in about 1h, got ${ttl} ms`);
    assert.ok((created['agentCommand'] as string).includes(created['token'] as string), 'agent command carries the token');

    const enrolled = await enroll(created['token'] as string, 'cli-pi-1');
    assert.ok(enrolled.status === 200 || enrolled.status === 201, `enroll answered ${enrolled.status}`);
    const deviceId = enrolled.body.deviceId as string;

    const rows = await devices();
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]!), DEVICE_KEYS);
    assert.deepEqual(rows[0], { id: deviceId, name: 'cli-pi-1', fleet: 'default', online: false, lastSeenAt: rows[0]!.lastSeenAt, tags: [], status: 'active' });

    const table = await ok(admin(['devices']));
    assert.match(table, /^NAME\s+ID\s+FLEET\s+STATUS\s+LAST SEEN\s+TAGS\n/);
    assert.match(table, new RegExp(`cli-pi-1\\s+${deviceId}\\s+default\\s+offline`));
  });

  void it('renames, tags and shows a device by name or id, and `devices --json` reflects each change', async () => {
    const [before] = await devices();
    const id = before!.id;
    await ok(admin(['device', 'rename', 'cli-pi-1', 'kitchen']));
    assert.equal((await devices())[0]!.name, 'kitchen');

    await ok(admin(['device', 'tag', 'kitchen', '+sensors', 'floor-1', '+old']));
    assert.deepEqual([...(await devices())[0]!.tags].sort(), ['floor-1', 'old', 'sensors']);
    await ok(admin(['device', 'tag', id, '-old']));
    assert.deepEqual([...(await devices())[0]!.tags].sort(), ['floor-1', 'sensors']);
    assert.equal((await devices('--tag', 'sensors')).length, 1);
    assert.equal((await devices('--tag', 'old')).length, 0);
    await ok(admin(['device', 'tag', 'kitchen', '--clear', 'prod']));
    assert.deepEqual((await devices())[0]!.tags, ['prod']);

    const shown = JSON.parse(await ok(admin(['device', 'show', id, '--json']))) as DeviceRow;
    assert.deepEqual(shown, (await devices())[0]);
    const text = await ok(admin(['device', 'show', 'kitchen']));
    assert.match(text, new RegExp(`^Name:\\s+kitchen\\nID:\\s+${id}\\n`));

    const missing = await admin(['device', 'show', 'no-such-device']);
    assert.equal(missing.code, 1);
    oneErrorLine(missing);
  });

  void it('revokes a device only with confirmation, then lists it as revoked', async () => {
    const unconfirmed = await admin(['device', 'revoke', 'kitchen']);
    assert.equal(unconfirmed.code, 2);
    assert.match(oneErrorLine(unconfirmed), /--yes/);
    assert.equal((await devices())[0]!.status, 'active', 'nothing changed without --yes');

    await ok(admin(['device', 'revoke', 'kitchen', '--yes']));
    const [row] = await devices();
    assert.equal(row!.status, 'revoked');
    assert.equal(row!.online, false);
    assert.match(await ok(admin(['devices'])), /kitchen\s+\S+\s+default\s+revoked/);
  });

  void it('lists and revokes tokens by id or by the secret; a revoked token no longer enrolls', async () => {
    const a = JSON.parse(await ok(admin(['token', 'create', '--fleet', 'default', '--json']))) as { id: string; token: string };
    const b = JSON.parse(await ok(admin(['token', 'create', '--fleet', 'default', '--json']))) as { id: string; token: string };
    const listed = JSON.parse(await ok(admin(['token', 'list', '--json']))) as { id: string; state: string; prefix: string }[];
    assert.equal(listed.find((t) => t.id === a.id)?.state, 'active');
    assert.ok(!JSON.stringify(listed).includes(a.token), 'token list never shows secrets');
    assert.match(await ok(admin(['token', 'list'])), /^ID\s+PREFIX\s+FLEET\s+STATE\s+USES\s+EXPIRES\s+CREATED\n/);

    await ok(admin(['token', 'revoke', a.id]));
    await ok(admin(['token', 'revoke', b.token]));
    const after = JSON.parse(await ok(admin(['token', 'list', '--json']))) as { id: string; state: string }[];
    assert.equal(after.find((t) => t.id === a.id)?.state, 'revoked');
    assert.equal(after.find((t) => t.id === b.id)?.state, 'revoked');
    const refused = await enroll(a.token, 'too-late');
    assert.ok(refused.status >= 400, `enroll with a revoked token answered ${refused.status}`);
    assert.equal((await devices()).length, 1, 'no device enrolled with a revoked token');
  });

  void it('asks to log in (exit 3 with the hint) without a login or with a rejected token', async () => {
    for (const args of [['devices'], ['token', 'list'], ['device', 'show', 'kitchen']]) {
      const r = await runCli(args, { env: { PIFLEET_CONFIG: dir() } });
      assert.equal(r.code, 3, args.join(' '));
      assert.match(oneErrorLine(r), /not logged in.*; run: pifleet login$/);
    }
    const bad = await runCli(['devices'], { env: { PIFLEET_HUB: hub.url, PIFLEET_TOKEN: 'not-a-real-token' } });
    assert.equal(bad.code, 3);
    assert.match(oneErrorLine(bad), /; run: pifleet login$/);
  });

  void it('works from the environment alone (PIFLEET_HUB + PIFLEET_TOKEN), as in CI', async () => {
    const token = (await api('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD, kind: 'cli' })).body.token as string;
    const r = await runCli(['devices', '--json'], { env: { PIFLEET_HUB: hub.url, PIFLEET_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 1);
  });

  void it("passes the hub's forbidden message through when a viewer creates a token", async () => {
    const adminToken = (JSON.parse(readFileSync(join(adminDir, 'config.json'), 'utf8')) as { token: string }).token;
    const created = await api('POST', '/api/users', { username: 'watcher', password: 'watcher-password-1', role: 'viewer' }, adminToken);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewerDir = dir();
    assert.equal((await login(viewerDir, 'watcher', 'watcher-password-1')).code, 0);

    const viewerToken = (JSON.parse(readFileSync(join(viewerDir, 'config.json'), 'utf8')) as { token: string }).token;
    const direct = await api('POST', '/api/tokens', { fleet: 'default' }, viewerToken);
    assert.equal(direct.status, 403);

    const r = await runCli(['token', 'create', '--fleet', 'default'], { env: { PIFLEET_CONFIG: viewerDir } });
    assert.equal(r.code, 1);
    assert.equal(oneErrorLine(r), `pifleet: ${direct.body.message as string}`);
    assert.equal(r.stdout, '');
    // Viewers may still read.
    assert.equal(JSON.parse(await ok(runCli(['devices', '--json'], { env: { PIFLEET_CONFIG: viewerDir } }))).length, 1);
  });

  void it('names the hub when it cannot be reached (exit 1)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await runCli(['devices'], { env: { PIFLEET_HUB: `http://127.0.0.1:${port}`, PIFLEET_TOKEN: 'x' } });
    assert.equal(r.code, 1);
    assert.match(oneErrorLine(r), new RegExp(`^pifleet: cannot reach hub at http://127\\.0\\.0\\.1:${port}: `));
  });

  void it('logs out: the token stops working on the hub and the config file is gone', async () => {
    const token = (JSON.parse(readFileSync(join(adminDir, 'config.json'), 'utf8')) as { token: string }).token;
    await ok(admin(['logout']));
    assert.throws(() => statSync(join(adminDir, 'config.json')), /ENOENT/);
    assert.equal((await api('GET', '/api/auth/me', undefined, token)).status, 401);
    const r = await admin(['devices']);
    assert.equal(r.code, 3);
  });
});
