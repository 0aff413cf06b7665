import type { TelemetrySample } from '@pifleet/protocol';
import type { HostReader } from './host-reader.js';
import { parseThermalDeci } from './pi-parsers.js';
import {
  cpuPermille,
  netDelta,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
  type CpuTimes,
  type NetCounters,
} from './proc-parsers.js';

/** A sample with its absolute time; `dt` is only known when the batch is sent. */
export interface TimedValues {
  at: number;
  values: Omit<TelemetrySample, 'dt'>;
}

interface Baseline {
  cpu: CpuTimes | null;
  net: NetCounters | null;
  agentCpu: NodeJS.CpuUsage;
  agentAt: bigint;
}

const mib = (kib: number): number => kib / 1024;

/**
 * Turns host readings into protocol units (see TELEMETRY_FIELDS). Rates (CPU, network, agent CPU)
 * are deltas against the previous call, so the first call only primes the baseline.
 */
export class Sampler {
  private base: Baseline | undefined;

  constructor(
    private readonly host: HostReader,
    private readonly diskPath: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the baseline for rate fields; call once at start so the first real sample has deltas. */
  async prime(): Promise<void> {
    const [stat, net] = await Promise.all([this.host.procText('stat'), this.host.procText('net/dev')]);
    this.base = {
      cpu: stat ? parseProcStat(stat) : null,
      net: net ? parseNetDev(net) : null,
      agentCpu: process.cpuUsage(),
      agentAt: process.hrtime.bigint(),
    };
  }

  async sample(): Promise<TimedValues> {
    const at = this.now();
    const [stat, load, mem, net, uptime, temp, disk, throttled] = await Promise.all([
      this.host.procText('stat'),
      this.host.procText('loadavg'),
      this.host.procText('meminfo'),
      this.host.procText('net/dev'),
      this.host.procText('uptime'),
      this.host.sysText('class/thermal/thermal_zone0/temp'),
      this.host.disk(this.diskPath),
      this.host.throttled(),
    ]);
    const cpu = stat ? parseProcStat(stat) : null;
    const counters = net ? parseNetDev(net) : null;
    const agentCpu = process.cpuUsage();
    const agentAt = process.hrtime.bigint();
    const prev = this.base;
    this.base = { cpu, net: counters, agentCpu, agentAt };

    const loads = load ? parseLoadavg(load) : null;
    const memInfo = mem ? parseMeminfo(mem) : null;
    const traffic = prev?.net && counters ? netDelta(prev.net, counters) : null;
    const up = uptime ? parseUptime(uptime) : null;
    let agentCpuPermille: number | null = null;
    if (prev) {
      const wallUs = Number(agentAt - prev.agentAt) / 1000;
      const usedUs = agentCpu.user - prev.agentCpu.user + (agentCpu.system - prev.agentCpu.system);
      if (wallUs > 0) agentCpuPermille = (usedUs / wallUs) * 1000;
    }
    return {
      at,
      values: {
        cpu: prev?.cpu && cpu ? cpuPermille(prev.cpu, cpu) : null,
        load1: loads ? loads[0] * 100 : null,
        load5: loads ? loads[1] * 100 : null,
        load15: loads ? loads[2] * 100 : null,
        memUsed: memInfo ? mib(memInfo.totalKiB - memInfo.availableKiB) : null,
        memTotal: memInfo ? mib(memInfo.totalKiB) : null,
        diskUsed: disk?.usedMiB ?? null,
        diskTotal: disk?.totalMiB ?? null,
        temp: temp === null ? null : parseThermalDeci(temp),
        throttled,
        netRx: traffic?.rx ?? null,
        netTx: traffic?.tx ?? null,
        uptime: up === null ? null : Math.floor(up),
        agentRss: process.memoryUsage.rss() / 1024,
        agentCpu: agentCpuPermille,
      },
    };
  }
}
