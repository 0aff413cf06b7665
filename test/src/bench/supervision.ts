// npm run bench -- supervision [--services 20] [--rounds 3] [--crashes 100] [--phase-s 60]
//
// Container supervision end to end: a real hub, a real agent and Podman's Docker API.
//  1. Reconcile of an N-service app from nothing to all running, against `podman-compose up -d`
//     of the same file on the same engine in the same run (median of --rounds each, ratio).
//  2. A no-change reconcile: an operator instruction that changes no container (pause restarts
//     of one service) bumps the desired version; timed from the API call until the hub sees the
//     device report that version applied (round trip hub → agent → hub included).
//  3. Death → hub record: services that crash on their own; for each death the engine's own die
//     time against the moment the hub stored the event (its receivedAt), p50/p95 over --crashes.
//  4. Agent CPU and RSS while supervising N running services, against the same agent with no
//     apps measured earlier in the same run (the agent-idle figure of this run).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTestImages, startPodmanService, storageFlags } from '@pifleet/agent/testing/podman';
import type { ApplyAppResult, DeviceContainers, ServiceEvent } from '@pifleet/hub';
import { AgentProcess } from '../support/agent-process.js';
import { HubProcess } from '../support/hub-process.js';
import { waitFor } from '../support/wait.js';
import { containersWithLabels, watchDeaths } from '../support/engine-api.js';
import { measure } from './lib/proc-stats.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    crashes: { type: 'string', default: '100' },
    'phase-s': { type: 'string', default: '60' },
  },
});
const N = Number(values.services);
const ROUNDS = Number(values.rounds);
const CRASHES = Number(values.crashes);
const PHASE_MS = Number(values['phase-s']) * 1000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const pad = (i: number): string => String(i).padStart(2, '0');

/** N long-running services; `sleep` as PID 1 ignores SIGTERM, so stops are given 1 s. */
function runningCompose(name: string, image: string, n: number): string {
  const lines = [`name: ${name}`, 'services:'];
  for (let i = 1; i <= n; i++) {
    lines.push(`  s${pad(i)}:`, `    image: ${image}`, `    command: ["sleep", "86400"]`, '    stop_grace_period: 1s');
  }
  return `${lines.join('\n')}\n`;
}

/** Services that run 1.5 s and exit 1: each a crash after a started run, so the backoff applies. */
function crashingCompose(name: string, image: string, n: number): string {
  const lines = [`name: ${name}`, 'services:'];
  for (let i = 1; i <= n; i++) {
    lines.push(`  c${pad(i)}:`, `    image: ${image}`, `    command: ["sh", "-c", "sleep 1.5; exit 1"]`, '    restart: always');
    lines.push('    x-pifleet:', '      startSecs: 1', '      startRetries: 100');
  }
  return `${lines.join('\n')}\n`;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function main(): Promise<void> {
  const podman = await startPodmanService();
  const images = await ensureTestImages(podman.socketPath);
  const image = images.busybox;
  const hub = new HubProcess({ env: { PIFLEET_LOG_LEVEL: 'error' } });
  await hub.start();
  const api = await hub.admin();
  const token = await hub.createToken();
  const agent = new AgentProcess({ hubUrl: hub.url, token, keepalive: 10, sampleMs: 10_000, publishMs: 30_000, env: { DOCKER_HOST: podman.dockerHost } }).start();
  const device = await waitFor('the agent online', async () => {
    const r = await api.get<{ id: string; online: boolean }[]>('/api/devices');
    return r.body.find((d) => d.online);
  }, 60_000);
  const pid = agent.child!.proc.pid!;
  const containers = async (): Promise<DeviceContainers> => (await api.get<DeviceContainers>(`/api/devices/${device.id}/containers`)).body;

  console.log(`supervision benchmark: ${N} services, ${ROUNDS} rounds, ${CRASHES} crashes, ${PHASE_MS / 1000} s per footprint phase`);
  const idle = await measure(pid, PHASE_MS);

  // 1. Reconcile from nothing, pifleet vs podman-compose, alternating rounds on the same engine.
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-bench-'));
  const pcFile = join(dir, 'compose.yml');
  writeFileSync(pcFile, runningCompose('pcbench', image, N));
  const pcEnv = { ...process.env, CONTAINERS_CONF: join(process.cwd(), 'test/podman/containers.conf') };
  const pcArgs = ['--podman-args', storageFlags(podman.dir).join(' '), '-p', 'pcbench', '-f', pcFile];
  const running = async (labels: Record<string, string>): Promise<number> =>
    (await containersWithLabels(podman.socketPath, labels)).filter((c) => c.State === 'running').length;
  const pifleetMs: number[] = [];
  const composeMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    await run('podman-compose', [...pcArgs, 'up', '-d'], pcEnv);
    await waitFor('podman-compose services running', async () => (await running({ 'io.podman.compose.project': 'pcbench' })) === N, 120_000, 20);
    composeMs.push(performance.now() - t0);
    await run('podman-compose', [...pcArgs, 'down', '-t', '1'], pcEnv);

    t0 = performance.now();
    const applied = await api.post<ApplyAppResult>('/api/apps/apply', { compose: runningCompose('bench', image, N), fleet: 'default' });
    if (applied.status !== 200 && applied.status !== 201) throw new Error(`apply: ${applied.status} ${JSON.stringify(applied.body)}`);
    await waitFor('pifleet services running', async () => (await running({ 'io.pifleet.app': 'bench' })) === N, 120_000, 20);
    pifleetMs.push(performance.now() - t0);
    if (r < ROUNDS - 1) {
      const rm = await api.delete('/api/apps/default/bench');
      if (rm.status !== 200) throw new Error(`remove: ${rm.status} ${JSON.stringify(rm.body)}`);
      const t1 = performance.now();
      await waitFor('pifleet services removed', async () => (await containersWithLabels(podman.socketPath, { 'io.pifleet.app': 'bench' })).length === 0, 300_000, 50);
      console.log(`  round ${r + 1}: podman-compose ${composeMs[r]!.toFixed(0)} ms, pifleet ${pifleetMs[r]!.toFixed(0)} ms; app removed in ${(performance.now() - t1).toFixed(0)} ms`);
    }
  }
  await waitFor('the hub sees every service RUNNING', async () => {
    const c = await containers();
    return c.services.filter((s) => s.app === 'bench' && s.state === 'RUNNING').length === N;
  }, 60_000);

  console.log(`  reconcile rounds done; measuring no-change reconciles…`);
  // 2. No-change reconcile: pause restarts of one service (no container changes).
  const noChange: number[] = [];
  for (let i = 0; i < 10; i++) {
    const before = await containers();
    const t0 = performance.now();
    const r = await api.post<DeviceContainers>(`/api/devices/${device.id}/services/action`, i % 2 ? { action: 'resume', app: 'bench', service: 's01' } : { action: 'pause', app: 'bench', service: 's01', minutes: 1 });
    if (r.status !== 200 && r.status !== 201) throw new Error(`action: ${r.status} ${JSON.stringify(r.body)}`);
    await waitFor('the new version applied', async () => {
      const c = await containers();
      return c.desiredVersion > before.desiredVersion && c.appliedVersion === c.desiredVersion;
    }, 30_000, 5);
    noChange.push(performance.now() - t0);
  }

  console.log(`  no-change reconciles done; measuring the footprint with ${N} services…`);
  // 4. Footprint while supervising N running services.
  const busy = await measure(pid, PHASE_MS);

  // 3. Death → hub record.
  const deaths = new Map<string, number[]>();
  const stopWatch = watchDeaths(podman.socketPath, (id, at, labels) => {
    // Podman's event attributes carry the name but not always the labels.
    if (labels['io.pifleet.app'] !== 'crashes' && !labels['name']?.startsWith('pifleet_crashes_')) return;
    const list = deaths.get(id) ?? [];
    list.push(at);
    deaths.set(id, list);
  });
  const crashing = Math.min(N, Math.ceil(CRASHES / 5));
  const applied = await api.post('/api/apps/apply', { compose: crashingCompose('crashes', image, crashing), fleet: 'default' });
  if (applied.status !== 200 && applied.status !== 201) throw new Error(`apply crashes: ${applied.status} ${JSON.stringify(applied.body)}`);
  const total = (): number => [...deaths.values()].reduce((n, l) => n + l.length, 0);
  console.log(`  waiting for ${CRASHES} deaths of ${crashing} crashing services…`);
  await waitFor(`${CRASHES} deaths`, () => total() >= CRASHES, 15 * 60_000, 500);
  stopWatch();
  // Each death's record: the service's history entries leaving RUNNING because the container exited.
  const latencies: number[] = [];
  for (let i = 1; i <= crashing; i++) {
    const h = await api.get<ServiceEvent[]>(`/api/devices/${device.id}/services/crashes/c${pad(i)}/history?limit=500`);
    const exits = h.body.filter((e) => e.reason === 'exited' && e.receivedAt).map((e) => ({ at: Date.parse(e.at), rec: Date.parse(e.receivedAt!) }));
    for (const e of exits) {
      // Match the engine's die time nearest before the agent's own time for the event.
      let best: number | undefined;
      for (const list of deaths.values()) for (const d of list) if (d <= e.at + 50 && (best === undefined || d > best)) best = d;
      if (best !== undefined && e.at - best < 5000) latencies.push(e.rec - best);
    }
  }

  const f = (ms: number): string => `${ms.toFixed(0)} ms`;
  console.log(`reconcile ${N} services from nothing: pifleet median ${f(median(pifleetMs))} (${pifleetMs.map(f).join(', ')}); podman-compose up -d median ${f(median(composeMs))} (${composeMs.map(f).join(', ')}); ratio ${(median(pifleetMs) / median(composeMs)).toFixed(2)} (target ≤ 1.0)`);
  console.log(`no-change reconcile (API call → applied version reported back): p50 ${f(median(noChange))}, max ${f(Math.max(...noChange))} (target < 200 ms)`);
  if (latencies.length) console.log(`death → hub record over ${latencies.length} crashes: p50 ${f(pct(latencies, 50))}, p95 ${f(pct(latencies, 95))}, max ${f(Math.max(...latencies))} (target p95 < 1 s)`);
  else console.log('death → hub record: no crash could be matched to its record');
  console.log(`agent with no apps: RSS mean ${idle.rssMeanMB.toFixed(1)} MiB (peak ${idle.rssPeakMB.toFixed(1)}), CPU ${idle.cpuPct.toFixed(3)} %`);
  console.log(`agent supervising ${N} services: RSS mean ${busy.rssMeanMB.toFixed(1)} MiB (peak ${busy.rssPeakMB.toFixed(1)}), CPU ${busy.cpuPct.toFixed(3)} %; ratio to no apps: RSS ${(busy.rssMeanMB / idle.rssMeanMB).toFixed(2)}, CPU ${(busy.cpuPct / Math.max(idle.cpuPct, 1e-3)).toFixed(1)}`);

  await agent.stop();
  await hub.stop();
  await podman.stop();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
