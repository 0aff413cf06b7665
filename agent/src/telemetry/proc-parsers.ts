/**
 * Pure parsers for Linux /proc files (proc(5)). No IO here so each can be tested on captured
 * contents from a real Pi; they return null/undefined instead of throwing on odd kernels.
 */

export interface CpuTimes {
  /** Jiffies spent doing work (everything except idle and iowait). */
  busy: number;
  total: number;
}

/** First `cpu ` line of /proc/stat: user nice system idle iowait irq softirq steal [guest guest_nice]. */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  if (n.length < 4 || n.some((v) => !Number.isFinite(v))) return null;
  // guest/guest_nice are already counted inside user/nice, so only the first 8 columns add up.
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return { busy: total - idle, total };
}

/** `btime` of /proc/stat: boot time in seconds since the epoch. */
export function parseBootTime(text: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** CPU busy between two snapshots in permille; null when no time has passed or counters went back. */
export function cpuPermille(prev: CpuTimes, cur: CpuTimes): number | null {
  const dt = cur.total - prev.total;
  const db = cur.busy - prev.busy;
  if (dt <= 0 || db < 0) return null;
  return Math.min(1000, Math.round((db / dt) * 1000));
}

export function parseLoadavg(text: string): [number, number, number] | null {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((v) => v !== undefined && Number.isFinite(v))) return null;
  return [a!, b!, c!];
}

export interface MemInfo {
  totalKiB: number;
  availableKiB: number;
}

/** MemAvailable exists since Linux 3.14; older kernels get the classic free+buffers+cached estimate. */
export function parseMeminfo(text: string): MemInfo | null {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) kv.set(m[1]!, Number(m[2]));
  }
  const total = kv.get('MemTotal');
  if (total === undefined) return null;
  const available =
    kv.get('MemAvailable') ?? (kv.get('MemFree') ?? 0) + (kv.get('Buffers') ?? 0) + (kv.get('Cached') ?? 0);
  return { totalKiB: total, availableKiB: Math.min(available, total) };
}

export type NetCounters = Map<string, { rx: number; tx: number }>;

/**
 * Loopback and the virtual plumbing of container engines: their traffic also crosses the physical
 * interface, so counting them would double "bytes on the wire".
 */
const VIRTUAL_IFACE = /^(lo|docker\d*|veth.*|br-.*|virbr.*|cni.*|flannel.*)$/;

/** /proc/net/dev: two header lines, then `iface: rxBytes … (8 rx cols) txBytes …`. */
export function parseNetDev(text: string): NetCounters {
  const out: NetCounters = new Map();
  for (const line of text.split('\n').slice(2)) {
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    const iface = line.slice(0, idx).trim();
    if (VIRTUAL_IFACE.test(iface)) continue;
    const cols = line.slice(idx + 1).trim().split(/\s+/).map(Number);
    const rx = cols[0];
    const tx = cols[8];
    if (rx === undefined || tx === undefined || !Number.isFinite(rx) || !Number.isFinite(tx)) continue;
    out.set(iface, { rx, tx });
  }
  return out;
}

/**
 * Bytes moved since the previous snapshot, per interface then summed. An interface whose counter
 * went backwards was reset (driver reload, 32-bit wrap on old kernels): its new value is the delta.
 * Interfaces that appeared since the previous snapshot count from zero the same way.
 */
export function netDelta(prev: NetCounters, cur: NetCounters): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const [iface, c] of cur) {
    const p = prev.get(iface);
    rx += p && c.rx >= p.rx ? c.rx - p.rx : c.rx;
    tx += p && c.tx >= p.tx ? c.tx - p.tx : c.tx;
  }
  return { rx, tx };
}

/** /proc/uptime: seconds since boot (first field). */
export function parseUptime(text: string): number | null {
  const v = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(v) ? v : null;
}
