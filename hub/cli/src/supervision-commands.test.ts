import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EXIT } from './errors.js';
import { run } from './program.js';
import type { DeviceContainers, ServiceRecord } from './schemas.js';
import type { Io } from './session.js';

/**
 * The supervision commands' side of the wire: what each command line sends and how it shows the
 * answer, against a stand-in HTTP server that records requests and answers as the contract says.
 * (test/src/cli-supervision.test.ts runs the same commands against a real hub.)
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Answer = { status: number; body: unknown };

const record = (app: string, service: string, over: Partial<ServiceRecord> = {}): ServiceRecord => ({
  deviceId: 'd1', device: 'pi', app, service, state: 'RUNNING', reportedState: 'RUNNING', release: 1, image: 'x', since: null, startedAt: null,
  restarts: 0, exitCode: null, oomKilled: false, health: null, crashLoop: false, nextStartAt: null, pausedUntil: null, stopped: false, pull: null, message: null, ...over,
});
const containers = (services: ServiceRecord[], over: Partial<DeviceContainers> = {}): DeviceContainers => ({
  deviceId: 'd1', device: 'pi', online: true, desiredVersion: 3, reportedVersion: 3, appliedVersion: 3, engine: 'up', error: null, reportedAt: null, services, ...over,
});
const release = { app: 'web', fleet: 'default', number: 2, device: null, compose: 'x', rollbackOf: null, removed: false, createdBy: 'admin', createdAt: new Date().toISOString(), current: true };

void describe('supervision commands on the wire', () => {
  let server: Server;
  let hub: string;
  let dir: string;
  let seen: Seen[];
  let routes: Record<string, (req: Seen) => Answer>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pifleet-cli-sup-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        seen.push(s);
        const key = `${s.method} ${s.url.split('?')[0]}`;
        const answer = routes[key]?.(s) ?? { status: 404, body: { code: 'not_found', message: `no route ${key}` } };
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hub = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
    routes = {};
  });

  const cli = async (argv: string[], tty = false): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const stdin = new PassThrough();
    stdin.end();
    const stderr = { write: (s: string) => (err += s), isTTY: tty };
    const io: Io = { env: { PIFLEET_CONFIG: dir, PIFLEET_HUB: hub, PIFLEET_TOKEN: 'test-token' }, stdin, stdout: { write: (s: string) => (out += s) }, stderr, fetch, now: () => new Date() };
    const code = await run(argv, io);
    return { code, out, err };
  };
  const json = (s: Seen): Record<string, unknown> => JSON.parse(s.body.toString()) as Record<string, unknown>;

  void it('apply sends the compose file, its env files by the path written, the scope and dryRun; says nothing changed', async () => {
    await writeFile(join(dir, 'compose.yml'), 'name: web\nservices:\n  api:\n    image: api:1\n    env_file: conf.env\n');
    await writeFile(join(dir, 'conf.env'), 'TOKEN=abc\n');
    routes['POST /api/apps/apply'] = () => ({ status: 200, body: { app: 'web', fleet: 'default', plan: [{ device: 'pi', app: 'web', service: 'api', change: 'create' }], dryRun: true } });
    const r = await cli(['apps', 'apply', '-f', join(dir, 'compose.yml'), '--fleet', 'default', '--dry-run']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['authorization'], 'Bearer test-token');
    assert.deepEqual(json(seen[0]!), { compose: 'name: web\nservices:\n  api:\n    image: api:1\n    env_file: conf.env\n', fleet: 'default', envFiles: { 'conf.env': 'TOKEN=abc\n' }, dryRun: true });
    assert.match(r.out, /^DEVICE\s+APP\s+SERVICE\s+CHANGE\s+FIELDS\npi\s+web\s+api\s+create\n\nDry run: nothing was changed and no release was created/);
  });

  void it('apply to a device with a name prints the release', async () => {
    await writeFile(join(dir, 'plain.yml'), 'services:\n  api:\n    image: api:1\n');
    routes['POST /api/apps/apply'] = () => ({ status: 200, body: { app: 'sensors', fleet: 'default', release: { ...release, app: 'sensors', device: 'pi' }, plan: [], dryRun: false } });
    const r = await cli(['apps', 'apply', '-f', join(dir, 'plain.yml'), '--device', 'pi', '--name', 'sensors']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.deepEqual(json(seen[0]!), { compose: 'services:\n  api:\n    image: api:1\n', device: 'pi', name: 'sensors' });
    assert.equal(r.out, 'No devices affected.\n\nApplied: release 2 of sensors for device pi (fleet default) (nothing to do).\n');
  });

  void it('prints each compose error as file:line: path: message and fails', async () => {
    await writeFile(join(dir, 'bad.yml'), 'services:\n  api: {}\n');
    routes['POST /api/apps/apply'] = () => ({
      status: 400,
      body: { code: 'invalid_compose', message: 'the compose file is not valid', details: [{ path: 'services.api.image', line: 2, message: 'image is required' }, { path: 'services', line: null, message: 'x' }] },
    });
    const file = join(dir, 'bad.yml');
    const r = await cli(['apps', 'apply', '-f', file, '--fleet', 'default']);
    assert.equal(r.code, EXIT.failure);
    assert.equal(r.out, '');
    assert.equal(r.err, `${file}:2: services.api.image: image is required\n${file}: services: x\npifleet: ${file} is not valid (2 errors); nothing was applied\n`);
  });

  void it('passes any other hub error through as one line', async () => {
    await writeFile(join(dir, 'plain.yml'), 'services:\n  api:\n    image: api:1\n');
    routes['POST /api/apps/apply'] = () => ({ status: 404, body: { code: 'not_found', message: "fleet 'nope' not found" } });
    const r = await cli(['apps', 'apply', '-f', join(dir, 'plain.yml'), '--fleet', 'nope']);
    assert.equal(r.code, EXIT.failure);
    assert.equal(r.err, "pifleet: fleet 'nope' not found\n");
  });

  void it('refuses --fleet with --device, and neither, before reading anything', async () => {
    for (const extra of [['--fleet', 'a', '--device', 'b'], []]) {
      const r = await cli(['apps', 'apply', '-f', join(dir, 'none.yml'), ...extra]);
      assert.equal(r.code, EXIT.usage);
      assert.match(r.err, /--fleet/);
    }
    assert.equal(seen.length, 0);
  });

  void it('rollback and rm send the release, the device and ask for --yes off a terminal', async () => {
    routes['POST /api/apps/default/web/rollback'] = () => ({ status: 200, body: { app: 'web', fleet: 'default', release: { ...release, number: 5, rollbackOf: 2 }, plan: [], dryRun: false } });
    const rb = await cli(['apps', 'rollback', 'web', '--fleet', 'default', '--to', '2', '--device', 'pi']);
    assert.equal(rb.code, EXIT.ok, rb.err);
    assert.deepEqual(json(seen[0]!), { release: 2, device: 'pi' });
    assert.match(rb.out, /Rolled back to release 2: release 5 of web/);

    const refused = await cli(['apps', 'rm', 'web', '--fleet', 'default']);
    assert.equal(refused.code, EXIT.usage);
    assert.match(refused.err, /--yes/);
    assert.equal(seen.length, 1, 'nothing sent without --yes');

    routes['DELETE /api/apps/default/web'] = () => ({ status: 200, body: { app: 'web', fleet: 'default', release: { ...release, number: 6, removed: true, device: 'pi' }, plan: [{ device: 'pi', app: 'web', service: 'api', change: 'remove' }], dryRun: false } });
    const rm = await cli(['apps', 'rm', 'web', '--fleet', 'default', '--device', 'pi', '--yes']);
    assert.equal(rm.code, EXIT.ok, rm.err);
    assert.equal(seen[1]!.url, '/api/apps/default/web?device=pi');
    assert.match(rm.out, /Removed: release 6 of web for device pi \(fleet default\) \(1 to remove\)/);
  });

  void it('service with a bare name finds its app first; an ambiguous name is refused with the apps', async () => {
    routes['GET /api/devices/pi/containers'] = () => ({ status: 200, body: containers([record('web', 'api'), record('web', 'db'), record('crm', 'db')]) });
    routes['POST /api/devices/pi/services/action'] = () => ({ status: 200, body: containers([record('web', 'api', { state: 'STOPPED', stopped: true }), record('web', 'db')], { desiredVersion: 4 }) });
    const r = await cli(['service', 'stop', 'pi', 'api']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['GET /api/devices/pi/containers', 'POST /api/devices/pi/services/action']);
    assert.deepEqual(json(seen[1]!), { action: 'stop', app: 'web', service: 'api' });
    assert.match(r.out, /^Stop recorded for web\/api on pi \(desired version 4\)\./);
    assert.match(r.out, /\nweb\s+api\s+STOPPED\s.*stopped by operator\n$/);
    assert.doesNotMatch(r.out, /\bdb\b/, 'only the affected service is shown');

    seen = [];
    const amb = await cli(['service', 'restart', 'pi', 'db']);
    assert.equal(amb.code, EXIT.failure);
    assert.match(amb.err, /several apps on pi \(crm, web\)/);
    assert.equal(seen.length, 1, 'no action sent');
  });

  void it('service stop of a whole device needs --yes off a terminal; pause needs --minutes in range', async () => {
    routes['POST /api/devices/pi/services/action'] = () => ({ status: 200, body: containers([], { online: false }) });
    const refused = await cli(['service', 'stop', 'pi']);
    assert.equal(refused.code, EXIT.usage);
    assert.match(refused.err, /pass --yes/);
    for (const argv of [['service', 'pause', 'pi', 'web/api'], ['service', 'pause', 'pi', 'web/api', '--minutes', '0'], ['service', 'pause', 'pi', '--minutes', '1441'], ['service', 'restart', 'pi', '--minutes', '5']]) {
      const r = await cli(argv);
      assert.equal(r.code, EXIT.usage, argv.join(' '));
    }
    assert.equal(seen.length, 0);

    const whole = await cli(['service', 'stop', 'pi', '--yes']);
    assert.equal(whole.code, EXIT.ok, whole.err);
    assert.deepEqual(json(seen[0]!), { action: 'stop' });
    assert.match(whole.out, /Stop recorded for every service on pi .* pi is offline: it acts on it when it reconnects\.\n$/);

    const paused = await cli(['service', 'pause', 'pi', '--app', 'web', '--minutes', '30']);
    assert.equal(paused.code, EXIT.ok, paused.err);
    assert.deepEqual(json(seen[1]!), { action: 'pause', app: 'web', minutes: 30 });
    assert.match(paused.out, /^Pause of restarts for 30 min recorded for every service of app web on pi/);
  });

  void it('service history asks for the named service with a limit', async () => {
    routes['GET /api/devices/my%20pi/services/web/api/history'] = () => ({
      status: 200,
      body: [{ eventId: 'e', deviceId: 'd1', app: 'web', service: 'api', from: 'RUNNING', to: 'EXITED', reason: 'exited', at: '2025-01-31T12:00:00Z', exitCode: 2, oomKilled: false, runMs: 1500, restarts: 1, delayMs: null, crashLoop: false, logTail: ['bye'], message: null }],
    });
    const r = await cli(['service', 'history', 'my pi', 'web/api', '--limit', '5', '--verbose']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.equal(seen[0]!.url, '/api/devices/my%20pi/services/web/api/history?limit=5');
    assert.match(r.out, /RUNNING -> EXITED\s+exited\s+2\s+1s\s+1\n {4}\| bye\n$/);
  });

  void it('ps prints the header and the table, or the JSON as the hub sent it', async () => {
    const c = containers([record('web', 'api', { exitCode: 137, oomKilled: true, restarts: 2 })], { error: { code: 'engine_down', message: 'no docker', at: new Date().toISOString() } });
    routes['GET /api/devices/pi/containers'] = () => ({ status: 200, body: c });
    const r = await cli(['ps', 'pi']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.match(r.out, /^pi \(online\) {2}desired v3 {2}reported v3 {2}applied v3 {2}engine up {2}never reported\nerror: engine_down: no docker \(just now\)\n\nAPP\s+SERVICE\s+STATE\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+HEALTH\s+NOTES\nweb\s+api\s+RUNNING\s+-\s+2\s+137 \(OOM\)/);
    const j = await cli(['ps', 'pi', '--json']);
    assert.deepEqual(JSON.parse(j.out), c);
  });

  void it('images push streams the file as the raw body with its length, with a progress line only on a terminal', async () => {
    const header = Buffer.alloc(512);
    header.write('ustar\u000000', 257, 'latin1');
    const data = Buffer.concat([header, Buffer.alloc(700_000, 3)]);
    const file = join(dir, 'img.tar');
    await writeFile(file, data);
    const bundle = { id: 'b1', refs: ['sensor:1'], sha256: 'a'.repeat(64), size: data.length, chunkSize: 1 << 20, chunkCount: 1, uploadedBy: 'admin', createdAt: new Date().toISOString() };
    routes['POST /api/images'] = () => ({ status: 201, body: bundle });
    const r = await cli(['images', 'push', file], true);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.equal(seen[0]!.headers['content-type'], 'application/octet-stream');
    assert.equal(seen[0]!.headers['content-length'], String(data.length));
    assert.ok(seen[0]!.body.equals(data), 'the hub got the file byte for byte');
    // eslint-disable-next-line no-control-regex -- the progress line is made of terminal control sequences
    assert.match(r.err, /^\rUploading img\.tar: .*\(100%\)\u001b\[K\r\u001b\[K$/s);
    assert.match(r.out, /^ID:\s+b1\nRefs:\s+sensor:1\nSize:\s+684\.1 KiB/);

    const quiet = await cli(['images', 'push', file, '--json']);
    assert.equal(quiet.err, '', 'no progress line off a terminal');
    assert.deepEqual(JSON.parse(quiet.out), bundle);
  });

  void it('audit turns --since 1h into an ISO time and passes the filters', async () => {
    routes['GET /api/audit'] = () => ({ status: 200, body: [] });
    const r = await cli(['audit', '--since', '1h', '--actor', 'alice', '--target', 'default/web', '--limit', '10']);
    assert.equal(r.code, EXIT.ok, r.err);
    assert.equal(r.out, 'No audit entries.\n');
    const q = new URL(seen[0]!.url, hub).searchParams;
    assert.ok(Math.abs(Date.parse(q.get('since')!) - (Date.now() - 3600_000)) < 60_000, q.get('since')!);
    assert.equal(q.get('actor'), 'alice');
    assert.equal(q.get('target'), 'default/web');
    assert.equal(q.get('limit'), '10');
  });

  void it('turns a malformed answer into a version-mismatch error, not undefined in a table', async () => {
    routes['GET /api/devices/pi/containers'] = () => ({ status: 200, body: { device: 'pi' } });
    const r = await cli(['ps', 'pi']);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.err, /^pifleet: unexpected response from hub for GET \/api\/devices\/pi\/containers .*same version/);
  });
});
