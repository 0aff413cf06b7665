import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user+sys) and RSS bytes of a process, from /proc. */
export function procSample(pid: number): { cpuS: number; rssB: number; at: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS, rssB: rssKb * 1024, at: Date.now() };
}

/** Average CPU % of one core and mean/peak RSS of `pid` over `ms`, sampled every second. */
export async function measure(pid: number, ms: number): Promise<{ cpuPct: number; rssMeanMB: number; rssPeakMB: number }> {
  const first = procSample(pid);
  let peak = first.rssB;
  let sum = 0;
  let n = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = procSample(pid);
    peak = Math.max(peak, s.rssB);
    sum += s.rssB;
    n++;
  }
  const last = procSample(pid);
  return {
    cpuPct: ((last.cpuS - first.cpuS) / ((last.at - first.at) / 1000)) * 100,
    rssMeanMB: sum / Math.max(1, n) / 2 ** 20,
    rssPeakMB: peak / 2 ** 20,
  };
}

/** Reads one metric (summing label sets) from a Prometheus text page. */
export function metricValue(text: string, name: string): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  return found ? total : NaN;
}
