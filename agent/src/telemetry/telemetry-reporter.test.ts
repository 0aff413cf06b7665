import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TelemetryMessageSchema, decodeSamples, type TimedSample } from '@pifleet/protocol';
import { createLogger } from '../log/logger.js';
import type { TimedValues } from './sampler.js';
import { TelemetryReporter, type SampleSource, type TelemetrySink } from './telemetry-reporter.js';

/** Stands in for the MQTT link: validates and decodes what would go on the wire. */
class WireSink implements TelemetrySink {
  connected = false;
  hubOnline = true;
  messages: { bytes: number; samples: TimedSample[] }[] = [];
  async publish(leaf: string, payload: string, qos: 0 | 1): Promise<boolean> {
    assert.equal(leaf, 'telemetry');
    assert.equal(qos, 1, "telemetry is sent at QoS 1 (PUBACK = delivered, and it replaces keepalive pings)");
    const msg = TelemetryMessageSchema.parse(JSON.parse(payload));
    assert.equal(msg.fields, undefined, 'default field order is implied, not repeated');
    this.messages.push({ bytes: payload.length, samples: decodeSamples(msg.ts, msg.samples) });
    return this.connected;
  }
  get all(): TimedSample[] {
    return this.messages.flatMap((m) => m.samples);
  }
}

class CountingSource implements SampleSource {
  n = 0;
  async prime(): Promise<void> {}
  async sample(): Promise<TimedValues> {
    this.n += 1;
    return {
      at: Date.now(),
      values: {
        cpu: this.n, load1: 12, load5: 10, load15: 8, memUsed: 812.4, memTotal: 3793.3, diskUsed: 5000,
        diskTotal: 29000, temp: 487, throttled: null, netRx: 1500, netTx: 300, uptime: 1000, agentRss: 40960, agentCpu: 3,
      },
    };
  }
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

void test('buffers while disconnected or hub offline, drops the oldest when full, then sends in chunks', async () => {
  const sink = new WireSink();
  const source = new CountingSource();
  const logs: string[] = [];
  const ac = new AbortController();
  const reporter = new TelemetryReporter({
    source, sink, log: createLogger('warn', (l) => logs.push(l)), sampleMs: 5, publishMs: 20, capacity: 12, perMessage: 5,
  });
  await reporter.start(ac.signal);
  try {
    await until(() => source.n >= 20);
    assert.equal(sink.messages.length, 0);
    assert.equal(reporter.buffered, 12);

    sink.connected = true;
    sink.hubOnline = false; // hub says offline: still held back
    await reporter.flush();
    assert.equal(sink.messages.length, 0);

    sink.hubOnline = true;
    await reporter.flush();
    const cpus = sink.all.map((s) => s.cpu);
    assert.ok(cpus.length >= 12);
    assert.ok(cpus[0]! > 1, 'the oldest samples were the ones dropped');
    assert.deepEqual(cpus, [...cpus].sort((a, b) => a! - b!), 'oldest first, no duplicates');
    assert.equal(new Set(cpus).size, cpus.length);
    assert.ok(sink.messages.every((m) => m.samples.length <= 5));
    assert.match(logs.join(''), /oldest samples dropped/);
    const s = sink.all[0]!;
    assert.equal(s.memUsed, 812);
    assert.ok(Math.abs(s.ts - Date.now()) < 10_000);
  } finally {
    ac.abort();
  }
});

void test('a failed publish keeps the samples for the next flush', async () => {
  const sink = new WireSink();
  sink.connected = true;
  const source = new CountingSource();
  const ac = new AbortController();
  const reporter = new TelemetryReporter({ source, sink, log: createLogger('error'), sampleMs: 5, publishMs: 60_000 });
  await reporter.start(ac.signal);
  try {
    await until(() => reporter.buffered >= 3);
    const failing: TelemetrySink = { connected: true, hubOnline: true, publish: async () => false };
    Object.assign(sink, { publish: failing.publish });
    const before = reporter.buffered;
    await reporter.flush();
    assert.ok(reporter.buffered >= before);
  } finally {
    ac.abort();
    await reporter.drainForShutdown();
  }
});
