import { request } from 'node:http';

/**
 * The few Docker Engine API calls system tests and benchmarks make to watch (and disturb) what
 * the engine runs, straight over the unix socket: they observe the engine independently of the
 * agent's own adapter, and the same way for pifleet and for a baseline.
 */
export function engineGet<T>(socketPath: string, path: string, timeoutMs = 10_000): Promise<T> {
  return engineCall<T>(socketPath, 'GET', path, timeoutMs);
}

/** A POST without a body (kill, stop, start); resolves with the parsed answer, if any. */
export function enginePost<T = unknown>(socketPath: string, path: string, timeoutMs = 30_000): Promise<T> {
  return engineCall<T>(socketPath, 'POST', path, timeoutMs);
}

function engineCall<T>(socketPath: string, method: string, path: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) return reject(new Error(`engine ${method} ${path}: ${res.statusCode} ${body.slice(0, 300)}`));
        try {
          resolve((body ? JSON.parse(body) : undefined) as T);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`engine ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface EngineContainer {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string> | null;
}

/** What a test reads of one container's inspect answer. */
export interface EngineInspect {
  Id: string;
  State: { Status: string; Running: boolean; ExitCode: number; StartedAt: string; FinishedAt: string };
  Config: { Env: string[] | null; Labels: Record<string, string> | null };
}

/** Containers whose labels include every given key=value. */
export async function containersWithLabels(socketPath: string, labels: Record<string, string>): Promise<EngineContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }));
  return engineGet<EngineContainer[]>(socketPath, `/containers/json?all=true&filters=${filters}`);
}

/**
 * Streams container `die` events with their nanosecond times until the returned stop is called:
 * the engine's own clock for when a container died, for death → record latency.
 */
export function watchDeaths(socketPath: string, onDie: (id: string, atMs: number, labels: Record<string, string>) => void): () => void {
  const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
  const req = request({ socketPath, path: `/events?filters=${filters}`, method: 'GET' }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          const e = JSON.parse(line) as { id?: string; Action?: string; status?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; timeNano?: number; time?: number };
          // Filtered here, not by the engine: Podman's compatible API ignores an `event` filter.
          if ((e.Action ?? e.status) !== 'die') continue;
          const at = e.timeNano ? e.timeNano / 1e6 : (e.time ?? 0) * 1000;
          onDie(e.Actor?.ID ?? e.id ?? '', at, e.Actor?.Attributes ?? {});
        } catch {
          /* a partial or foreign line: not a death we can time */
        }
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return () => req.destroy();
}
