import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuPermille,
  netDelta,
  parseBootTime,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
} from './proc-parsers.js';

// Captured from a Raspberry Pi 4 Model B (4 GB) running Raspberry Pi OS bookworm, 64-bit.
const PI_STAT = `cpu  105318 1209 58112 6384727 9213 0 1422 0 0 0
cpu0 26913 312 15098 1594214 2412 0 1109 0 0 0
cpu1 25944 298 14288 1597503 2231 0 104 0 0 0
cpu2 26410 305 14362 1596418 2305 0 98 0 0 0
cpu3 26051 294 14364 1596592 2265 0 111 0 0 0
intr 23150744 0 19522 1627478 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 41733210
btime 1732100103
processes 31244
procs_running 2
procs_blocked 0
softirq 9836513 1120 2270845 67 131236 0 0 36897 3960346 6 3435996
`;
const PI_STAT_LATER = PI_STAT.replace(
  'cpu  105318 1209 58112 6384727 9213 0 1422 0 0 0',
  'cpu  105418 1209 58162 6385647 9233 0 1432 0 0 0',
);

const PI_MEMINFO = `MemTotal:        3884360 kB
MemFree:         2408148 kB
MemAvailable:    3227416 kB
Buffers:           62124 kB
Cached:           869228 kB
SwapCached:            0 kB
Active:           567980 kB
Inactive:         700776 kB
SwapTotal:        102396 kB
SwapFree:         102396 kB
CmaTotal:         524288 kB
CmaFree:          508392 kB
`;

const PI_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  382936    3311    0    0    0     0          0         0   382936    3311    0    0    0     0       0          0
  eth0: 98123466  104233    0  112    0     0          0      2211 12533911   61922    0    0    0     0       0          0
 wlan0:  5230011    9021    0    0    0     0          0         0   811200    4001    0    0    0     0       0          0
docker0:  120033     933    0    0    0     0          0         0  4433231    1202    0    0    0     0       0          0
vethf3a1c2e:  130055     933    0    0    0     0          0         0  4440001    1210    0    0    0     0       0          0
`;

void test('parseProcStat sums the aggregate cpu line, idle includes iowait', () => {
  const t = parseProcStat(PI_STAT);
  assert.deepEqual(t, { busy: 105318 + 1209 + 58112 + 1422, total: 105318 + 1209 + 58112 + 6384727 + 9213 + 1422 });
  assert.equal(parseProcStat('intr 1 2 3\n'), null);
});

void test('cpuPermille is the busy share of elapsed jiffies, null when nothing elapsed', () => {
  const a = parseProcStat(PI_STAT)!;
  const b = parseProcStat(PI_STAT_LATER)!;
  // busy +160 (100 user, 50 system, 10 softirq) of +1100 total
  assert.equal(cpuPermille(a, b), Math.round((160 / 1100) * 1000));
  assert.equal(cpuPermille(a, a), null);
  assert.equal(cpuPermille(b, a), null);
});

void test('parseBootTime reads btime', () => {
  assert.equal(parseBootTime(PI_STAT), 1732100103);
  assert.equal(parseBootTime('cpu 1 2 3 4\n'), null);
});

void test('parseLoadavg takes the three averages', () => {
  assert.deepEqual(parseLoadavg('0.52 0.31 0.18 2/201 4511\n'), [0.52, 0.31, 0.18]);
  assert.equal(parseLoadavg(''), null);
});

void test('parseMeminfo uses MemAvailable, falls back on older kernels', () => {
  assert.deepEqual(parseMeminfo(PI_MEMINFO), { totalKiB: 3884360, availableKiB: 3227416 });
  const old = 'MemTotal: 948304 kB\nMemFree: 100000 kB\nBuffers: 20000 kB\nCached: 300000 kB\n';
  assert.deepEqual(parseMeminfo(old), { totalKiB: 948304, availableKiB: 420000 });
  assert.equal(parseMeminfo('garbage'), null);
});

void test('parseNetDev keeps physical interfaces only', () => {
  const c = parseNetDev(PI_NET_DEV);
  assert.deepEqual([...c.keys()], ['eth0', 'wlan0']);
  assert.deepEqual(c.get('eth0'), { rx: 98123466, tx: 12533911 });
});

void test('netDelta sums per-interface deltas and treats a counter reset as a fresh count', () => {
  const prev = parseNetDev(PI_NET_DEV);
  const cur = new Map([
    ['eth0', { rx: 98123466 + 1500, tx: 12533911 + 400 }],
    ['wlan0', { rx: 1000, tx: 10 }], // driver reloaded: counters restarted
    ['usb0', { rx: 7, tx: 3 }], // appeared since the previous sample
  ]);
  assert.deepEqual(netDelta(prev, cur), { rx: 1500 + 1000 + 7, tx: 400 + 10 + 3 });
});

void test('parseUptime reads seconds since boot', () => {
  assert.equal(parseUptime('350735.47 234388.90\n'), 350735.47);
  assert.equal(parseUptime('x'), null);
});
