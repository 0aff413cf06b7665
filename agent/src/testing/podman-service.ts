import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A private `podman system service` for tests: its own storage, run dir, volumes, networks and
 * event log under one temp dir (never the machine's /var/lib/containers), the project's
 * containers.conf, and a Docker-API socket in the same dir. scripts/run-tests.mjs starts one per
 * test run and passes it to every test process as PIFLEET_DOCKER_HOST; a test file run on its
 * own starts its own through the fixture (podman.ts).
 */

/** Repository root (agent/dist/testing -> ../../..). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CONTAINERS_CONF = join(REPO, 'test/podman/containers.conf');

export function podmanBinary(): string | undefined {
  const explicit = process.env['PIFLEET_PODMAN_BIN'];
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, 'podman');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

export interface PodmanService {
  /** The Docker-API socket. */
  socketPath: string;
  /** `unix://<socketPath>`, what DOCKER_HOST takes. */
  dockerHost: string;
  /** The service's own dir (storage, config, socket). */
  dir: string;
  /** The service's output so far (last 64 KiB), for a failing test to print. */
  log(): string;
  /** Stops the service process only (containers and storage stay), as an engine crash would. */
  kill(): Promise<void>;
  /** Starts the service again on the same socket and storage after kill(). */
  start(): Promise<void>;
  /** Removes every container, stops the service and deletes its dir. */
  stop(): Promise<void>;
}

export interface PodmanServiceOptions {
  /** Extra environment for the service (e.g. CONTAINERS_REGISTRIES_CONF). */
  env?: Record<string, string>;
  /** Where the dir is made; short by default, since conmon's socket paths under it are limited in length. */
  parent?: string;
}

const LOG_KEEP = 64 * 1024;

/** The global flags that give the service (and any podman CLI call on the same store) its own state. */
export function storageFlags(dir: string): string[] {
  return [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--tmpdir',
    join(dir, 'tmp'),
    '--volumepath',
    join(dir, 'volumes'),
    '--network-config-dir',
    join(dir, 'networks'),
    '--events-backend',
    'file',
    '--cgroup-manager',
    'cgroupfs',
  ];
}

/** GET /_ping over the socket: true when the service answers OK. */
export function pingSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolveP) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolveP(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolveP(false));
    });
    req.on('error', () => resolveP(false));
    req.on('timeout', () => {
      req.destroy();
      resolveP(false);
    });
    req.end();
  });
}

/** Waits until no process names `dir` in its command line (conmon and podman calls on the store do). */
async function waitForNoProcessUsing(dir: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  const busy = (): boolean => {
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
    } catch {
      return false;
    }
    return pids.some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
  };
  while (busy() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** Lazily unmounts whatever the storage left mounted under `dir` (deepest first), so it can be deleted. */
function unmountBelow(dir: string): void {
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .map((m) => m.replace(/\\040/g, ' '))
      .filter((m) => m === dir || m.startsWith(`${dir}/`));
  } catch {
    return;
  }
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 });
}

export async function startPodmanService(opts: PodmanServiceOptions = {}): Promise<PodmanService> {
  const bin = podmanBinary();
  if (!bin) throw new Error('podman not found (install: apt-get install podman runc)');
  const dir = mkdtempSync(join(opts.parent ?? '/tmp', 'pfpod-'));
  for (const d of ['root', 'run', 'tmp', 'volumes', 'networks']) mkdirSync(join(dir, d), { recursive: true });
  const socketPath = join(dir, 'podman.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: CONTAINERS_CONF, ...opts.env };
  // The test runner's DOCKER_HOST must not send the service's own podman calls elsewhere.
  delete env['CONTAINER_HOST'];
  let child: ChildProcess | undefined;
  let out = '';

  const start = async (): Promise<void> => {
    rmSync(socketPath, { force: true });
    const c = spawn(bin, [...storageFlags(dir), 'system', 'service', '--time=0', `unix://${socketPath}`], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    child = c;
    const keep = (d: Buffer): void => {
      out = (out + d.toString()).slice(-LOG_KEEP);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`podman system service exited (${c.exitCode ?? c.signalCode}): ${out.slice(-2000)}`);
      if (existsSync(socketPath) && (await pingSocket(socketPath))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    c.kill('SIGKILL');
    throw new Error(`podman system service did not answer on ${socketPath} within 20 s: ${out.slice(-2000)}`);
  };

  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };

  const stop = async (): Promise<void> => {
    await kill();
    // Containers outlive the service (conmon keeps them); remove them with the CLI on the same
    // store, then unmount and delete it.
    const run = (args: string[]): void => {
      spawnSync(bin, [...storageFlags(dir), ...args], { env, stdio: 'ignore', timeout: 60_000 });
    };
    run(['rm', '--all', '--force', '--time', '0']);
    // conmon's exit command (`podman container cleanup`) may still be writing to the store.
    await waitForNoProcessUsing(dir, 10_000);
    // Removing the containers and unmounting what they left is all the delete needs.
    unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };

  await start();
  return {
    socketPath,
    dockerHost: `unix://${socketPath}`,
    dir,
    log: () => out,
    kill,
    start: async () => {
      if (child && child.exitCode === null && child.signalCode === null) return;
      await start();
    },
    stop,
  };
}
