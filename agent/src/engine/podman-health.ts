import type Docker from 'dockerode';
import { parseTime } from './container-state.js';
import { statusOf } from './errors.js';

/**
 * Podman runs healthchecks from systemd timers; where there is no systemd (a container, a
 * minimal image, this test machine) they never run and a container stays `starting` for ever.
 * For Podman this driver runs each tracked container's check itself, through libpod's
 * `GET /libpod/containers/{id}/healthcheck` (Docker's API has no such call), but only when the
 * check is overdue: when systemd does run them the last result is fresh and nothing is run
 * twice. Docker runs its healthchecks itself and never gets a driver.
 */

/** Never more timers than a Pi runs containers; past this new containers are not driven. */
const MAX_TRACKED = 256;
/** Docker's default interval, used when the container's is 0. */
const DEFAULT_INTERVAL_MS = 30_000;

export class PodmanHealthDriver {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly docker: Docker,
    /** libpod's API version prefix, e.g. "4.3.1". */
    private readonly apiVersion: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Starts driving `id` if it is running and has a healthcheck; a no-op when already driven. */
  async track(id: string, info?: Docker.ContainerInspectInfo): Promise<void> {
    if (this.stopped || this.timers.has(id) || this.timers.size >= MAX_TRACKED) return;
    const i = info ?? (await this.inspect(id));
    const ms = typeof i === 'object' && i.State?.Running ? intervalOf(i) : undefined;
    if (ms === undefined || this.timers.has(id)) return;
    this.schedule(id, ms);
  }

  untrack(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  get tracked(): number {
    return this.timers.size;
  }

  private schedule(id: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => void this.tick(id, ms), ms);
    // The agent's lifetime is not tied to these timers.
    t.unref();
    this.timers.set(id, t);
  }

  private async tick(id: string, ms: number): Promise<void> {
    if (!this.timers.has(id)) return;
    const info = await this.inspect(id);
    // The engine away for a moment: try again next interval rather than forget the container.
    if (info === 'unreachable') return this.schedule(id, ms);
    if (info === 'gone' || !info.State?.Running) return this.untrack(id);
    const log = (info.State.Health as { Log?: { End?: string }[] } | undefined)?.Log ?? [];
    const lastEnd = parseTime(log[log.length - 1]?.End);
    // Overdue = no result within (most of) one interval: nobody else is running the check.
    if (lastEnd === null || Date.now() - lastEnd >= ms * 0.8) {
      try {
        await this.run(id);
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.timers.has(id)) this.schedule(id, ms);
  }

  private run(id: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/v${this.apiVersion}/libpod/containers/${encodeURIComponent(id)}/healthcheck?`,
          method: 'GET',
          options: {},
          statusCodes: { 200: true, 404: 'no such container', 409: 'container has no healthcheck or is not running', 500: 'server error' },
        },
        (err, data) => (err ? reject(err as Error) : resolve(data)),
      );
    });
  }

  private async inspect(id: string): Promise<Docker.ContainerInspectInfo | 'gone' | 'unreachable'> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      return statusOf(err) === 404 ? 'gone' : 'unreachable';
    }
  }
}

/** The check's interval in ms, or undefined when the container has no (enabled) healthcheck. */
export function intervalOf(info: Docker.ContainerInspectInfo): number | undefined {
  const hc = info.Config?.Healthcheck;
  const test = hc?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  const ns = hc?.Interval ?? 0;
  return ns > 0 ? Math.max(1, Math.round(ns / 1e6)) : DEFAULT_INTERVAL_MS;
}
