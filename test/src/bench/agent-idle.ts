// npm run bench -- agent-idle [--minutes 10]
//
// The agent's idle footprint at its defaults (sample every 10 s, publish every 30 s, keepalive
// 60 s): RSS and CPU over the run, and the bytes it exchanges with the broker (both directions,
// keepalives included), counted by a TCP relay between agent and broker and extrapolated to an
// hour and a 30-day month. Baseline, same run: an idle `node` process (RSS, CPU). Every
// capability is on: the agent supervises with a real engine (a Podman service of the bench's
// own, watched through its event stream) even though no app is assigned.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startPodmanService } from '@pifleet/agent/testing/podman';
import { AgentProcess } from '../support/agent-process.js';
import { HubProcess } from '../support/hub-process.js';
import { freePort, sleep, waitFor } from '../support/wait.js';
import { CountingProxy } from './lib/counting-proxy.js';
import { procSample } from './lib/proc-stats.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const durationMs = Number(values.minutes) * 60_000;

async function main(): Promise<void> {
  const podman = await startPodmanService();
  const hub = new HubProcess({ env: { PIFLEET_LOG_LEVEL: 'error' } });
  hub.mqttPort = await freePort();
  const proxy = new CountingProxy(hub.mqttPort);
  const proxyPort = await proxy.start();
  hub.opts.env = { ...hub.opts.env, PIFLEET_DEVICE_MQTT_URL: `mqtt://127.0.0.1:${proxyPort}` };
  await hub.start();
  const token = await hub.createToken();
  const agent = new AgentProcess({ hubUrl: hub.url, token, keepalive: 60, sampleMs: 10_000, publishMs: 30_000, env: { DOCKER_HOST: podman.dockerHost } }).start();
  const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await waitFor('agent connected through the relay', () => proxy.up.bytes > 0, 30_000);
  await sleep(5000); // leave enrollment and the first connect out of the idle figures
  proxy.reset();
  const pid = agent.child!.proc.pid!;
  const a0 = procSample(pid);
  const b0 = procSample(baseline.pid!);
  let rssSum = 0, rssPeak = 0, n = 0;
  const end = Date.now() + durationMs;
  console.log(`agent idle benchmark: ${durationMs / 60_000} min at defaults…`);
  while (Date.now() < end) {
    await sleep(10_000);
    const s = procSample(pid);
    rssSum += s.rssB; rssPeak = Math.max(rssPeak, s.rssB); n++;
  }
  const a1 = procSample(pid);
  const b1 = procSample(baseline.pid!);
  const secs = (a1.at - a0.at) / 1000;
  const agentCpu = ((a1.cpuS - a0.cpuS) / secs) * 100;
  const baseCpu = ((b1.cpuS - b0.cpuS) / secs) * 100;
  const bytes = proxy.up.bytes + proxy.down.bytes;
  const reads = proxy.up.reads + proxy.down.reads;
  const perHour = (bytes / secs) * 3600;
  // Rough IPv4+TCP cost: 52 B of headers per segment and one 52 B ACK for each.
  const perHourWire = ((bytes + reads * 104) / secs) * 3600;
  const mb = (b: number) => (b / 1e6).toFixed(2);
  console.log(`agent RSS mean ${(rssSum / n / 2 ** 20).toFixed(1)} MiB, peak ${(rssPeak / 2 ** 20).toFixed(1)} MiB; baseline idle node ${(b1.rssB / 2 ** 20).toFixed(1)} MiB; ratio ${(rssSum / n / b1.rssB).toFixed(2)}`);
  console.log(`agent CPU ${agentCpu.toFixed(3)} % of one core; baseline idle node ${baseCpu.toFixed(3)} %`);
  console.log(`MQTT bytes: up ${proxy.up.bytes} B (${proxy.up.reads} segments), down ${proxy.down.bytes} B (${proxy.down.reads}) in ${secs.toFixed(0)} s`);
  console.log(`per hour: ${(perHour / 1e3).toFixed(1)} kB payload, ~${(perHourWire / 1e3).toFixed(1)} kB with TCP/IP headers`);
  console.log(`per 30-day month: ${mb(perHour * 720)} MB payload, ~${mb(perHourWire * 720)} MB with TCP/IP headers (target ≤ 25 MB; balena idle ≈ 180 MB); ratio to target ${(perHourWire * 720 / 25e6).toFixed(2)}`);
  baseline.kill();
  await agent.stop();
  proxy.close();
  await hub.stop();
  await podman.stop();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
