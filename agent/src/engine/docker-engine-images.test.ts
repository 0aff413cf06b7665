import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { freePort } from '../testing/free-port.js';
import { ensureTestImages } from '../testing/podman-images.js';
import { eventually, podmanBinary, startPodmanService, usePodman } from '../testing/podman.js';
import { DockerEngine } from './docker-engine.js';
import { EngineError, type PullProgress } from './engine.js';

// Images: loading a `podman save` archive, and pulling through the Docker API from a local
// registry (Debian's docker-registry on a loopback port).

const podman = usePodman();
const run = promisify(execFile);
const REGISTRY_BIN = process.env['PIFLEET_DOCKER_REGISTRY_BIN'] ?? '/usr/bin/docker-registry';

/** The podman CLI as a client of the given service (same store as the Docker API). */
function remote(socketPath: string, args: string[]): Promise<{ stdout: string }> {
  return run(podmanBinary()!, ['--remote', '--url', `unix://${socketPath}`, ...args], { timeout: 60_000 });
}

void test('loadImage: a `podman save` archive loads and its refs come back; a broken archive is a clear error', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const engine = new DockerEngine({ env: p.env });
  const docker = new Docker({ socketPath: p.socketPath });
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-save-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ref = `localhost/pifleet-test/loaded:${p.app('v')}`;
  await docker.getImage(p.images.busybox).tag({ repo: ref.split(':')[0]!, tag: ref.split(':')[1]! });
  const archive = join(dir, 'image.tar');
  await remote(p.socketPath, ['save', '--format', 'docker-archive', '-o', archive, ref]);
  await docker.getImage(ref).remove({ noprune: true });
  assert.equal(await engine.hasImage(ref), false);

  const refs = await engine.loadImage(createReadStream(archive));
  assert.deepEqual(refs, [ref]);
  assert.equal(await engine.hasImage(ref), true);
  t.after(() => docker.getImage(ref).remove({ noprune: true }).catch(() => undefined));

  writeFileSync(join(dir, 'junk.tar'), Buffer.alloc(4096, 7));
  await assert.rejects(engine.loadImage(createReadStream(join(dir, 'junk.tar'))), (e: unknown) => e instanceof EngineError && /load/.test(e.message));
  await assert.rejects(engine.loadImage(Readable.from([Buffer.from('not a tar')])), EngineError);
});

interface Registry {
  host: string;
  stop(): Promise<void>;
}

async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: ${host}`, ''].join('\n'),
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const up = (): Promise<boolean> =>
    new Promise((r) =>
      get(`http://${host}/v2/`, (res) => {
        res.resume();
        r(res.statusCode === 200);
      }).on('error', () => r(false)),
    );
  await eventually(`docker-registry on ${host}`, async () => {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${err}`);
    return (await up()) ? true : undefined;
  });
  return {
    host,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** A TCP server that accepts connections and never answers: a registry that hangs. */
async function silentServer(): Promise<{ host: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

void test('pullImage from a local registry: progress, the image present after; a missing tag is image_pull_failed; abort stops a hanging pull', async (t) => {
  if (!podman.get(t)) return;
  if (!existsSync(REGISTRY_BIN)) {
    if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error('strict mode: docker-registry not installed (install: apt-get install docker-registry)');
    t.skip('docker-registry not installed (install: apt-get install docker-registry)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-registry-'));
  const registry = await startRegistry(dir);
  const hanging = await silentServer();
  // Both plain-HTTP registries are insecure for this test's own Podman service only.
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(
    registriesConf,
    ['unqualified-search-registries = []', '', ...[registry.host, hanging.host].flatMap((h) => ['[[registry]]', `location = "${h}"`, 'insecure = true', ''])].join('\n'),
  );
  const svc = await startPodmanService({ env: { CONTAINERS_REGISTRIES_CONF: registriesConf } });
  const engine = new DockerEngine({ env: { DOCKER_HOST: svc.dockerHost } });
  t.after(async () => {
    engine.close();
    await svc.stop();
    await hanging.close();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const images = await ensureTestImages(svc.socketPath);
  const ref = `${registry.host}/pifleet/busybox:t1`;
  await remote(svc.socketPath, ['push', '--tls-verify=false', images.busybox, ref]);
  // Without the local copy the pull has to download the layer.
  await new Docker({ socketPath: svc.socketPath }).getImage(images.busybox).remove();
  assert.equal(await engine.hasImage(ref), false);

  const progress: PullProgress[] = [];
  await engine.pullImage(ref, (p) => progress.push(p));
  assert.equal(await engine.hasImage(ref), true);
  assert.ok(progress.length > 0, 'no progress reported');
  const last = progress[progress.length - 1]!;
  assert.ok(last.total > 0 && last.done === last.total, `last progress ${JSON.stringify(last)}`);
  for (const p of progress) assert.ok(p.done <= p.total);

  await assert.rejects(engine.pullImage(`${registry.host}/pifleet/busybox:missing`), (e: unknown) => e instanceof EngineError && e.code === 'image_pull_failed');
  await assert.rejects(engine.pullImage(`${registry.host}/pifleet/nothing`), (e: unknown) => e instanceof EngineError && e.code === 'image_pull_failed');

  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(engine.pullImage(ref, undefined, aborted.signal), { name: 'AbortError' });

  const ac = new AbortController();
  const started = Date.now();
  const pull = engine.pullImage(`${hanging.host}/x/y:z`, undefined, ac.signal);
  setTimeout(() => ac.abort(), 300);
  await assert.rejects(pull, { name: 'AbortError' });
  assert.ok(Date.now() - started < 5_000, 'the abort did not end the pull promptly');
});
