// npm run bench -- presence [--devices 5000] [--steps 1000,2500,5000] [--window 30] [--keepalive 10] [--victims 100]
//                           [--limits on,off]
//
// N simulated agents (one process, real MQTT connections) enroll over HTTP and report telemetry
// every 10 s to one hub process (embedded PGlite + aedes). Reports the hub's CPU and RSS per
// 1,000 devices, whether telemetry is persisted without backlog, and the time from a device's
// death to "offline" in the API — for a crashed process (socket closed) and for a silent death
// (packets dropped, found by keepalive). Baseline, same run: a bare aedes broker (no auth, no
// database) carrying the same 1,000 devices and message rate. `--limits on,off` runs the whole
// measurement once per setting of PIFLEET_DEVICE_LIMITS (per-device token buckets) in the same
// run, so the cost of the limits is read against a hub without them.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HubProcess } from '../support/hub-process.js';
import { freePort, sleep, waitFor } from '../support/wait.js';
import { FlakyLink } from '../support/flaky-link.js';
import { measure, metricValue } from './lib/proc-stats.js';
import { SimFleet, type SimCredential } from './lib/sim-devices.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    steps: { type: 'string', default: '1000,2500,5000' },
    window: { type: 'string', default: '30' },
    keepalive: { type: 'string', default: '10' },
    victims: { type: 'string', default: '100' },
    period: { type: 'string', default: '10000' },
    'hub-flags': { type: 'string', default: '' },
    'hub-env': { type: 'string', default: '' },
    'skip-baseline': { type: 'boolean', default: false },
    limits: { type: 'string', default: 'on' },
  },
});
const total = Number(values.devices);
const steps = values.steps!.split(',').map(Number).filter((n) => n <= total);
const windowMs = Number(values.window) * 1000;
const keepalive = Number(values.keepalive);
const victims = Number(values.victims);
const periodMs = Number(values.period);

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function baseline(): Promise<{ cpuPct: number; rssMeanMB: number }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./lib/bare-broker.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  const fleet = new SimFleet(`mqtt://127.0.0.1:${port}`, keepalive);
  const n = Math.min(1000, total);
  await pool(Array.from({ length: n }, (_, i) => `base${String(i).padStart(8, '0')}`), 50, (id) => fleet.connect({ deviceId: id }));
  fleet.startTelemetry(periodMs);
  await sleep(3000);
  const m = await measure(child.pid!, windowMs);
  await fleet.close();
  child.kill('SIGTERM');
  return { cpuPct: m.cpuPct, rssMeanMB: m.rssMeanMB };
}

interface HubRun {
  label: string;
  first?: { step: number; cpuPct: number; rssMeanMB: number };
  last?: { step: number; cpuPct: number; rssMeanMB: number };
}

async function main(): Promise<void> {
  console.log(`presence benchmark: ${total} devices, steps ${steps.join('/')}, window ${windowMs / 1000} s, keepalive ${keepalive} s, telemetry every ${periodMs / 1000} s`);
  const base = values['skip-baseline'] ? { cpuPct: NaN, rssMeanMB: NaN } : await baseline();
  console.log(`baseline bare aedes @1000 devices: cpu ${base.cpuPct.toFixed(1)} %, rss ${base.rssMeanMB.toFixed(0)} MB`);
  const runs: HubRun[] = [];
  for (const limits of values.limits!.split(',')) runs.push(await runHub(limits as 'on' | 'off', base));
  if (runs.length > 1) {
    console.log('\n| per-device limits | CPU at first step | RSS at first step | CPU at last step | RSS at last step |');
    console.log('|---|---|---|---|---|');
    for (const r of runs) {
      console.log(`| ${r.label} | ${r.first?.cpuPct.toFixed(1)} % | ${r.first?.rssMeanMB.toFixed(0)} MB | ${r.last?.cpuPct.toFixed(1)} % | ${r.last?.rssMeanMB.toFixed(0)} MB |`);
    }
    const [on, off] = [runs.find((r) => r.label === 'on'), runs.find((r) => r.label === 'off')];
    if (on?.last && off?.last) {
      console.log(`ratio at ${on.last.step} devices: limits on / off = ${(on.last.cpuPct / off.last.cpuPct).toFixed(2)} CPU, ${(on.last.rssMeanMB / off.last.rssMeanMB).toFixed(2)} RSS`);
    }
  }
}

async function runHub(limits: 'on' | 'off', base: { cpuPct: number; rssMeanMB: number }): Promise<HubRun> {
  const nodeArgs = values['hub-flags']!.split(' ').filter(Boolean);
  if (nodeArgs.length) console.log(`hub node flags: ${nodeArgs.join(' ')}`);
  const extraEnv = Object.fromEntries(values['hub-env']!.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  if (Object.keys(extraEnv).length) console.log(`hub env: ${values['hub-env']}`);
  console.log(`\n--- hub with per-device limits ${limits} ---`);
  const hub = await new HubProcess({ env: { PIFLEET_LOG_LEVEL: 'error', PIFLEET_DEVICE_LIMITS: limits, ...extraEnv }, nodeArgs }).start();
  const pid = hub.child!.proc.pid!;
  const idle = await measure(pid, 5000);
  console.log(`hub idle: cpu ${idle.cpuPct.toFixed(1)} %, rss ${idle.rssMeanMB.toFixed(0)} MB`);
  const admin = await hub.admin();
  const token = (await admin.post<{ token: string }>('/api/tokens', { maxUses: total + victims, ttlSeconds: 3600 })).body.token;

  const enroll = async (name: string): Promise<SimCredential> => {
    const r = await hub.api.post<{ deviceId: string; mqtt: { username: string; password: string } }>('/api/enroll', {
      token, name, publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchmarkKeyBenchmarkKeyBenchmarkKey0', info: { hostname: name },
    });
    if (r.status !== 200 && r.status !== 201) throw new Error(`enroll failed: ${r.status} ${JSON.stringify(r.body)}`);
    return { deviceId: r.body.deviceId, username: r.body.mqtt.username, password: r.body.mqtt.password };
  };

  const fleet = new SimFleet(`mqtt://127.0.0.1:${hub.mqttPort}`, keepalive);
  fleet.startTelemetry(periodMs);
  const rows: string[] = [];
  let have = 0;
  let first: { step: number; cpuPct: number; rssMeanMB: number } | undefined;
  let last: typeof first;
  for (const step of steps) {
    const t0 = Date.now();
    const names = Array.from({ length: step - have }, (_, i) => `sim-${have + i}`);
    await pool(names, 20, async (n) => fleet.connect(await enroll(n)));
    have = step;
    console.log(`  ${step} devices enrolled and online in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await sleep(5000);
    const before = metricValue((await admin.get<string>('/metrics')).body, 'pifleet_telemetry_rows_written_total');
    const m = await measure(pid, windowMs);
    first ??= { step, ...m };
    last = { step, ...m };
    const text = (await admin.get<string>('/metrics')).body;
    const written = metricValue(text, 'pifleet_telemetry_rows_written_total') - before;
    const expected = (step * windowMs) / periodMs;
    const backlog = metricValue(text, 'pifleet_telemetry_buffer_rows');
    const ov = (await admin.get<{ online: number }>('/api/overview')).body;
    rows.push(
      `| ${step} | ${ov.online} | ${m.cpuPct.toFixed(1)} % | ${((m.cpuPct / step) * 1000).toFixed(1)} % | ${m.rssMeanMB.toFixed(0)} MB (peak ${m.rssPeakMB.toFixed(0)}) | ${(((m.rssMeanMB - idle.rssMeanMB) / step) * 1000).toFixed(0)} MB | ${written.toFixed(0)} / ~${expected.toFixed(0)} | ${backlog} |`,
    );
    console.log(rows.at(-1));
  }

  // Death → offline: half the victims crash (socket closed), half die silently (blackholed).
  const proxy = new FlakyLink(hub.mqttPort);
  await proxy.start();
  const silent = new SimFleet(`mqtt://127.0.0.1:${proxy.port}`, keepalive);
  const crashed = new SimFleet(`mqtt://127.0.0.1:${hub.mqttPort}`, keepalive);
  const half = Math.floor(victims / 2);
  const silentIds: string[] = [];
  const crashIds: string[] = [];
  await pool(Array.from({ length: half }, (_, i) => `silent-${i}`), 20, async (n) => { const c = await enroll(n); silentIds.push(c.deviceId); await silent.connect(c); });
  await pool(Array.from({ length: victims - half }, (_, i) => `crash-${i}`), 20, async (n) => { const c = await enroll(n); crashIds.push(c.deviceId); await crashed.connect(c); });
  await sleep(2000);
  const offlineTimes = async (ids: string[], t0: number): Promise<number[]> => {
    const seen = new Map<string, number>();
    await waitFor('victims offline', async () => {
      const list = (await admin.get<{ id: string; online: boolean }[]>('/api/devices?online=false')).body;
      const now = Date.now();
      for (const d of list) if (ids.includes(d.id) && !seen.has(d.id)) seen.set(d.id, now - t0);
      return seen.size === ids.length;
    }, keepalive * 3000 + 30_000, 200);
    return [...seen.values()].sort((a, b) => a - b);
  };
  let t0 = Date.now();
  crashed.kill(crashIds);
  const crashT = await offlineTimes(crashIds, t0);
  t0 = Date.now();
  proxy.down();
  const silentT = await offlineTimes(silentIds, t0);
  const q = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))]!;

  console.log('\n| devices | online | hub CPU | CPU per 1,000 | hub RSS | RSS per 1,000 (over idle) | telemetry rows written / sent in window | buffer depth |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nbaseline (same run): bare aedes with 1,000 devices: cpu ${base.cpuPct.toFixed(1)} %, rss ${base.rssMeanMB.toFixed(0)} MB; hub idle rss ${idle.rssMeanMB.toFixed(0)} MB`);
  console.log(`crash → offline (${crashT.length} devices): p50 ${q(crashT, 0.5)} ms, max ${crashT.at(-1)} ms`);
  console.log(`silent death → offline (${silentT.length} devices, keepalive ${keepalive} s, bound ${keepalive * 1.5} s): p50 ${q(silentT, 0.5)} ms, max ${silentT.at(-1)} ms`);
  if (first) {
    console.log(`ratio at ${first.step} devices: hub CPU / bare broker CPU = ${(first.cpuPct / base.cpuPct).toFixed(2)}, hub RSS / bare broker RSS = ${(first.rssMeanMB / base.rssMeanMB).toFixed(2)}`);
  }
  await Promise.all([fleet.close(), silent.close(), crashed.close()]);
  proxy.close();
  await hub.stop();
  return { label: limits, first, last };
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
