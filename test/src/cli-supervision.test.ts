import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from '@pifleet/hub/testing';
import { dockerArchive } from '@pifleet/hub/testing/images';
import { Api } from './support/api.js';
import { newConfigDir, runCli, type CliRun } from './support/cli.js';
import { enrollSupervisedDevice, type SupervisedDevice } from './support/supervised-device.js';
import { waitFor } from './support/wait.js';

/**
 * The supervision commands of `pifleet` as an operator and scripts use them: the compiled binary
 * as a child process against a real in-process hub (PGlite + aedes), with a device that is a raw
 * MQTT client playing the agent's part (it reports what the test scripts, and reports STOPPED
 * when its desired state says so).
 */
const ADMIN_PASSWORD = 'cli-supervision-admin-password';
const DEVICE = 'cli-sup-pi';
/** The test hub's largest image bundle: small, so a refused upload costs little. */
const IMAGE_MAX_BYTES = 512 * 1024;

/** A `docker save` archive of one image whose layer holds `layerBytes` random bytes. */
const imageArchive = (ref: string, layerBytes = 48 * 1024): Buffer => dockerArchive({ refs: [ref], layerBytes });

const COMPOSE_V1 = `name: web
services:
  api:
    image: nginx:1.27
    restart: always
    env_file: conf/api.env
`;

const COMPOSE_V2 = COMPOSE_V1.replace('nginx:1.27', 'nginx:1.28');

/** Two mistakes on known lines: a restart policy that does not exist (5) and a port out of range (7). */
const BAD_COMPOSE = `name: web
services:
  api:
    image: nginx:1.27
    restart: sometimes
    ports:
      - "99999:80"
`;

interface ContainersJson {
  desiredVersion: number;
  services: { app: string; service: string; state: string; stopped: boolean }[];
}

void describe('pifleet supervision commands against a real hub', () => {
  let h: TestHub;
  let adminDir: string;
  let adminToken: string;
  let work: string;
  let pi: SupervisedDevice;

  const cli = (args: string[]): Promise<CliRun> => runCli(args, { env: { PIFLEET_CONFIG: adminDir } });
  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(args);
    assert.equal(r.code, 0, `pifleet ${args.join(' ')}: exit 0 expected; stderr: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  };
  const okJson = async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '--json'])) as T;
  /** The hub's own answer, for waiting on conditions without a CLI process per poll. */
  const containers = async (): Promise<ContainersJson & { appliedVersion: number | null }> => {
    const r = await h.api<ContainersJson & { appliedVersion: number | null }>('GET', `/api/devices/${pi.id}/containers`, { token: adminToken });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const file = (rel: string, text: string | Buffer): string => {
    const p = join(work, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  before(async () => {
    h = await startTestHub({ env: { PIFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD, PIFLEET_IMAGE_MAX_BYTES: String(IMAGE_MAX_BYTES) } });
    adminDir = newConfigDir();
    work = mkdtempSync(join(tmpdir(), 'pifleet-cli-sup-'));
    const login = await runCli(['login', '--hub', h.url, '--user', 'admin', '--password-stdin'], { env: { PIFLEET_CONFIG: adminDir }, stdin: ADMIN_PASSWORD });
    assert.equal(login.code, 0, login.stderr);
    adminToken = (JSON.parse(readFileSync(join(adminDir, 'config.json'), 'utf8')) as { token: string }).token;
    pi = await enrollSupervisedDevice(new Api(h.url, adminToken), DEVICE, {}, { session: 1 });
    await waitFor('device online', async () => (await h.api<{ online: boolean }>('GET', `/api/devices/${pi.id}`, { token: adminToken })).body.online, 15_000);
  });

  after(async () => {
    await pi?.client.endAsync(true);
    await h?.close();
    rmSync(adminDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  void it('dry-runs a compose file with an env_file: prints the plan, says nothing changed, creates no release', async () => {
    file('app/conf/api.env', 'GREETING=hello from the env file\n');
    const compose = file('app/compose.yml', COMPOSE_V1);
    const out = await ok(['apps', 'apply', '-f', compose, '--fleet', 'default', '--dry-run']);
    assert.match(out, /^DEVICE\s+APP\s+SERVICE\s+CHANGE\s+FIELDS\n/);
    assert.match(out, new RegExp(`\\n${DEVICE}\\s+web\\s+api\\s+create\\n`));
    assert.match(out, /Dry run: nothing was changed and no release was created/);
    assert.deepEqual(await okJson(['apps', 'list']), [], 'no app after a dry run');
    assert.equal(pi.desired.filter((d) => d.apps['web'] !== undefined).length, 0, 'the device was sent nothing');
  });

  void it('applies it: release 1, and the device gets the service with the env file read relative to the compose file', async () => {
    // The CLI runs in another directory: conf/api.env must be found next to the compose file.
    const out = await ok(['apps', 'apply', '-f', join(work, 'app', 'compose.yml'), '--fleet', 'default']);
    assert.match(out, new RegExp(`\\n${DEVICE}\\s+web\\s+api\\s+create\\n`));
    assert.match(out, /Applied: release 1 of web for fleet default/);
    const d = await waitFor('desired state with web/api', () => pi.desired.find((m) => m.apps['web']?.services['api']), 15_000);
    assert.equal(d.apps['web']!.services['api']!.environment['GREETING'], 'hello from the env file');
    assert.equal(d.apps['web']!.services['api']!.image, 'nginx:1.27');
  });

  void it('prints each problem of an invalid compose file as file:line: path: message and exits 1; nothing is applied', async () => {
    const bad = file('bad/compose.yml', BAD_COMPOSE);
    const r = await cli(['apps', 'apply', '-f', bad, '--fleet', 'default']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines.at(-1)!, new RegExp(`^pifleet: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid \\(\\d+ errors?\\); nothing was applied$`));
    const problems = lines.slice(0, -1);
    assert.ok(problems.length >= 2, r.stderr);
    for (const p of problems) assert.ok(p.startsWith(`${bad}:`), `compiler-style line: ${p}`);
    assert.ok(problems.some((p) => p.startsWith(`${bad}:5: services.api.restart: `)), r.stderr);
    assert.ok(problems.some((p) => p.startsWith(`${bad}:7: services.api.ports`)), r.stderr);
    const releases = await okJson<{ number: number }[]>(['apps', 'releases', 'web', '--fleet', 'default']);
    assert.deepEqual(releases.map((x) => x.number), [1], 'no release from an invalid file');
  });

  void it('lists releases and rolls back: a new release restoring the old compose file', async () => {
    const compose = file('app/compose.yml', COMPOSE_V2);
    const out = await ok(['apps', 'apply', '-f', compose, '--fleet', 'default']);
    assert.match(out, new RegExp(`\\n${DEVICE}\\s+web\\s+api\\s+recreate\\s+\\S*image`));
    assert.match(out, /release 2 of web/);

    const releases = await okJson<{ number: number; current: boolean; compose: string }[]>(['apps', 'releases', 'web', '--fleet', 'default']);
    assert.deepEqual(releases.map((x) => [x.number, x.current]), [[2, true], [1, false]]);
    assert.equal(releases[1]!.compose, COMPOSE_V1);
    assert.match(await ok(['apps', 'releases', 'web', '--fleet', 'default']), /^RELEASE\s+SCOPE\s+CURRENT\s+NOTE\s+BY\s+CREATED\n2\s+fleet\s+\*\s+admin/);

    const rb = await ok(['apps', 'rollback', 'web', '--fleet', 'default', '--to', '1']);
    assert.match(rb, /Rolled back to release 1: release 3 of web for fleet default/);
    const after = await okJson<{ number: number; current: boolean; rollbackOf: number | null; compose: string }[]>(['apps', 'releases', 'web', '--fleet', 'default']);
    assert.deepEqual([after[0]!.number, after[0]!.current, after[0]!.rollbackOf], [3, true, 1]);
    assert.equal(after[0]!.compose, COMPOSE_V1);
    await waitFor('device sent nginx:1.27 again', () => pi.desired.at(-1)?.apps['web']?.services['api']?.image === 'nginx:1.27', 15_000);
    assert.match(await ok(['apps', 'list']), /\nweb\s+default\s+3\s+api\s/);

    const missing = await cli(['apps', 'rollback', 'web', '--fleet', 'default', '--to', '99']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.split('\n').length, 2, `one line: ${missing.stderr}`);
  });

  void it('ps shows what the device reports, with versions in the header; --json is the hub object', async () => {
    const d = pi.desired.at(-1)!;
    await pi.report({ web: { api: { state: 'RUNNING', release: d.apps['web']!.release, image: 'nginx:1.27', since: Date.now(), startedAt: Date.now() - 65_000, restarts: 2, exitCode: 137, oomKilled: true, health: 'healthy' } } }, d.version);
    await waitFor('RUNNING reported', async () => {
      const c = await containers();
      return c.services[0]?.state === 'RUNNING' && c.appliedVersion === d.version;
    }, 15_000);
    assert.deepEqual(await okJson(['ps', DEVICE]), await containers());
    const out = await ok(['ps', DEVICE]);
    assert.match(out, new RegExp(`^${DEVICE} \\(online\\) {2}desired v${d.version} {2}reported v${d.version} {2}applied v${d.version} {2}engine up`));
    assert.match(out, /\nAPP\s+SERVICE\s+STATE\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+HEALTH\s+NOTES\nweb\s+api\s+RUNNING\s+1m\d*s?\s+2\s+137 \(OOM\)\s+healthy/);
  });

  void it('service stop records the control: the desired version grows, the device is told, ps shows it stopped', async () => {
    const before = await containers();
    // A bare service name: the CLI finds its app.
    const out = await ok(['service', 'stop', DEVICE, 'api']);
    assert.match(out, new RegExp(`^Stop recorded for web/api on ${DEVICE} \\(desired version \\d+\\)`));
    const told = await waitFor('desired state with the stop', () => pi.desired.find((m) => m.controls['web']?.['api']?.stopped === true), 15_000);
    assert.ok(told.version > before.desiredVersion, `version ${told.version} > ${before.desiredVersion}`);
    const mid = await containers();
    assert.ok(mid.desiredVersion > before.desiredVersion);
    assert.equal(mid.services[0]!.stopped, true);

    // The device does what it was told.
    await pi.report({ web: { api: { state: 'STOPPED', release: told.apps['web']!.release, since: Date.now(), restarts: 2 } } }, told.version);
    await waitFor('STOPPED stored', async () => (await containers()).services[0]?.state === 'STOPPED', 15_000);
    assert.match(await ok(['ps', DEVICE]), /\nweb\s+api\s+STOPPED\s+-\s+2\s.*stopped by operator\n$/);

    // Stopping the whole device needs --yes off a terminal; nothing is sent without it.
    const refused = await cli(['service', 'stop', DEVICE]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);
    assert.equal((await containers()).desiredVersion, mid.desiredVersion);

    await ok(['service', 'start', DEVICE, 'web/api']);
    await waitFor('desired state with the stop lifted', () => pi.desired.at(-1)?.controls['web']?.['api']?.stopped === false || pi.desired.at(-1)?.controls['web']?.['api'] === undefined, 15_000);
    const paused = await ok(['service', 'pause', DEVICE, 'web/api', '--minutes', '15']);
    assert.match(paused, /^Pause of restarts for 15 min recorded for web\/api/);
    await waitFor('desired state with the pause', () => (pi.desired.at(-1)?.controls['web']?.['api']?.pausedUntil ?? 0) > Date.now() + 10 * 60_000, 15_000);
  });

  void it('service history lists the restart timeline, with the log tail under --verbose', async () => {
    await pi.event({ app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 3, runMs: 1200, restarts: 3, crashLoop: true, delayMs: 8000, logTail: ['listening on :80', 'fatal: config missing'] });
    await waitFor('the event stored', async () => (await h.api<unknown[]>('GET', `/api/devices/${pi.id}/services/web/api/history`, { token: adminToken })).body.length > 0, 15_000);
    const events = await okJson<{ reason: string; exitCode: number | null; logTail: string[] }[]>(['service', 'history', DEVICE, 'web/api']);
    assert.equal(events[0]!.reason, 'exited');
    assert.deepEqual(events[0]!.logTail, ['listening on :80', 'fatal: config missing']);
    const out = await ok(['service', 'history', DEVICE, 'api', '--verbose']);
    assert.match(out, /^TIME\s+CHANGE\s+REASON\s+EXIT\s+RUN\s+RESTARTS\s+NOTE\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+RUNNING -> BACKOFF\s+exited\s+3\s+1s\s+3\s+crash loop; next start in 8s\n {4}\| listening on :80\n {4}\| fatal: config missing\n/);
  });

  void it('pushes, lists and removes an image bundle', async () => {
    const archive = file('images/sensor.tar', imageArchive('example/sensor:1.0'));
    const pushed = JSON.parse(await ok(['images', 'push', archive, '--json'])) as { id: string; refs: string[]; size: number; sha256: string };
    assert.deepEqual(pushed.refs, ['example/sensor:1.0']);
    assert.equal(pushed.size, readFileSync(archive).length);
    assert.equal(pushed.sha256, createHash('sha256').update(readFileSync(archive)).digest('hex'));

    const again = file('images/other.tar', imageArchive('example/other:2'));
    assert.match(await ok(['images', 'push', again]), /^ID:\s+\S+\nRefs:\s+example\/other:2\nSize:\s+\d/);

    const listed = await okJson<{ id: string }[]>(['images', 'list']);
    assert.ok(listed.some((b) => b.id === pushed.id));
    assert.match(await ok(['images', 'list']), new RegExp(`^ID\\s+REFS\\s+SIZE\\s+UPLOADED BY\\s+CREATED\\n[\\s\\S]*${pushed.id}\\s+example/sensor:1\\.0`));

    assert.match(await ok(['images', 'rm', pushed.id]), new RegExp(`^Deleted image bundle ${pushed.id} \\(example/sensor:1\\.0, `));
    assert.ok(!(await okJson<{ id: string }[]>(['images', 'list'])).some((b) => b.id === pushed.id));

    // Past the hub's limit: its 413 message, on one line, exit 1, and nothing stored.
    const big = file('images/big.tar', imageArchive('example/big:1', IMAGE_MAX_BYTES + 64 * 1024));
    const tooBig = await cli(['images', 'push', big]);
    assert.equal(tooBig.code, 1, tooBig.stderr);
    assert.equal(tooBig.stderr.split('\n').length, 2, `one line: ${tooBig.stderr}`);
    assert.match(tooBig.stderr, /^pifleet: .*(large|limit|bytes)/i);
    assert.ok(!(await okJson<{ refs: string[] }[]>(['images', 'list'])).some((b) => b.refs.includes('example/big:1')));

    const notTar = file('images/notes.txt', 'not an archive');
    const refused = await cli(['images', 'push', notTar]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /neither a tar archive nor gzip-compressed/);
  });

  void it('audit lists those actions, newest first, and filters them', async () => {
    const entries = await okJson<{ action: string; actor: string; at: string; result: string }[]>(['audit', '--since', '1h']);
    const actions = entries.map((e) => e.action);
    for (const a of ['app.apply', 'app.rollback', 'service.stop', 'service.pause']) assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
    assert.ok(actions.some((a) => a.startsWith('image.')), `an image action in ${actions.join(', ')}`);
    assert.ok(entries.every((e, i) => i === 0 || e.at <= entries[i - 1]!.at), 'newest first');
    const table = await ok(['audit', '--since', '1h', '--limit', '3']);
    assert.match(table, /^TIME\s+ACTOR\s+ACTION\s+TARGET\s+RESULT\s+DETAIL\n/);
    assert.equal(table.trimEnd().split('\n').length, 4, 'header and three entries');
    const none = await okJson<unknown[]>(['audit', '--actor', 'nobody-at-all']);
    assert.deepEqual(none, []);
  });

  void it('removes the app with --yes: a release that removes it from the device', async () => {
    const refused = await cli(['apps', 'rm', 'web', '--fleet', 'default']);
    assert.equal(refused.code, 2);
    const out = await ok(['apps', 'rm', 'web', '--fleet', 'default', '--yes']);
    assert.match(out, new RegExp(`\\n${DEVICE}\\s+web\\s+api\\s+remove\\n`));
    assert.match(out, /Removed: release \d+ of web for fleet default/);
    await waitFor('the device is told to drop web', () => pi.desired.at(-1)?.apps['web'] === undefined, 15_000);
  });
});
