import { randomBytes } from 'node:crypto';
import { after, before, type TestContext } from 'node:test';
import Docker from 'dockerode';
import { ensureTestImages, type TestImages } from './podman-images.js';
import { pingSocket, podmanBinary, startPodmanService, type PodmanService } from './podman-service.js';

/**
 * The shared Podman fixture for every package's engine tests (exported as
 * `@pifleet/agent/testing/podman`). One Podman service per test run: scripts/run-tests.mjs
 * starts it and passes PIFLEET_DOCKER_HOST; a test file run alone starts its own, once per
 * process. A machine without Podman skips the test naming the install command; under
 * PIFLEET_TEST_STRICT=1 (CI) that is a failure instead.
 *
 * Everything a test makes is removed at the end: containers, volumes and networks carrying the
 * run's label (`fixture.labels`), and every pifleet object of an app named by `fixture.app()`.
 */

export { startPodmanService, podmanBinary, storageFlags, type PodmanService, type PodmanServiceOptions } from './podman-service.js';
export { ensureTestImages, type TestImages } from './podman-images.js';

export const TEST_RUN_LABEL = 'io.pifleet.test-run';

export interface PodmanFixture {
  socketPath: string;
  /** `unix://...`, what DOCKER_HOST takes. */
  dockerHost: string;
  /** `{ DOCKER_HOST }` for findEngine / new DockerEngine({ env }). */
  env: NodeJS.ProcessEnv;
  images: TestImages;
  /** Put these on whatever a test creates outside an app of `app()`; the fixture removes it at the end. */
  labels: Record<string, string>;
  /** A fresh app name (valid as an entry name); every pifleet object of that app is removed at the end. */
  app(prefix?: string): string;
}

export interface UsePodman {
  /** The fixture, or undefined after skipping the test (throws under PIFLEET_TEST_STRICT=1). */
  get(t: TestContext): PodmanFixture | undefined;
}

/** Polls async `fn` until it returns a value other than undefined; throws after `ms` naming `what`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let shared: Promise<{ socketPath: string; own?: PodmanService }> | undefined;
let users = 0;

async function acquire(): Promise<{ socketPath: string; own?: PodmanService }> {
  const given = process.env['PIFLEET_DOCKER_HOST'];
  if (given) {
    if (!given.startsWith('unix://')) throw new Error(`PIFLEET_DOCKER_HOST must be unix:///path, got ${given}`);
    const socketPath = given.slice('unix://'.length);
    if (!(await pingSocket(socketPath, 3000))) throw new Error(`the Podman service at ${given} (PIFLEET_DOCKER_HOST) does not answer`);
    return { socketPath };
  }
  if (!podmanBinary()) throw new Error('podman not installed (install: apt-get install podman runc busybox-static)');
  const own = await startPodmanService();
  return { socketPath: own.socketPath, own };
}

/** Removes what a test run left: its labelled objects and every pifleet object of its apps. */
async function cleanUp(socketPath: string, runId: string, apps: Set<string>): Promise<void> {
  const docker = new Docker({ socketPath });
  const mine = (labels: Record<string, string> | null | undefined): boolean =>
    labels?.[TEST_RUN_LABEL] === runId || (labels?.['io.pifleet.managed'] === 'true' && apps.has(labels['io.pifleet.app'] ?? ''));
  const ignore = (): undefined => undefined;
  const containers = await docker.listContainers({ all: true }).catch(() => []);
  for (const c of containers) if (mine(c.Labels)) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignore);
  const networks = await docker.listNetworks().catch(() => []);
  for (const n of networks) if (mine(n.Labels)) await docker.getNetwork(n.Id).remove().catch(ignore);
  const volumes = (await docker.listVolumes().catch(() => ({ Volumes: [] as Docker.VolumeInspectInfo[] }))).Volumes ?? [];
  for (const v of volumes) if (mine(v.Labels)) await docker.getVolume(v.Name).remove({ force: true }).catch(ignore);
}

/** Registers before/after hooks in the calling test file; call at the top level of the file. */
export function usePodman(): UsePodman {
  const runId = randomBytes(6).toString('hex');
  const apps = new Set<string>();
  let fixture: PodmanFixture | undefined;
  let reason: string | undefined;
  let mySocket: string | undefined;

  before(async () => {
    users += 1;
    try {
      shared ??= acquire();
      const { socketPath } = await shared;
      mySocket = socketPath;
      const images = await ensureTestImages(socketPath);
      fixture = {
        socketPath,
        dockerHost: `unix://${socketPath}`,
        env: { DOCKER_HOST: `unix://${socketPath}` },
        images,
        labels: { [TEST_RUN_LABEL]: runId },
        app: (prefix = 't') => {
          const name = `${prefix}${randomBytes(4).toString('hex')}`;
          apps.add(name);
          return name;
        },
      };
    } catch (err) {
      reason = (err as Error).message;
    }
  });

  after(async () => {
    if (mySocket) await cleanUp(mySocket, runId, apps);
    users -= 1;
    if (users === 0 && shared) {
      const s = shared;
      shared = undefined;
      const own = await s.then((x) => x.own).catch(() => undefined);
      await own?.stop();
    }
  });

  return {
    get(t) {
      if (fixture) return fixture;
      const why = `Podman not available: ${reason ?? 'the fixture did not start'}`;
      if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${why}`);
      t.skip(why);
      return undefined;
    },
  };
}
