import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'mqtt';
import { MESSAGE_REGISTRY, envelope, leafTopic, type LeafMessage } from '@pifleet/protocol';
import { createLogger } from '../log/logger.js';
import { TEST_DEVICE_ID } from '../testing/enroll-server.js';
import { TestBroker } from '../testing/test-broker.js';
import { testLink } from '../testing/test-link.js';
import { waitFor, within } from '../testing/wait.js';
import { InboundDispatcher, type InboundClient } from './inbound.js';

const OTHER = 'zzzzzzzzzzzz';
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const cmd = (name: string, args: Record<string, unknown> = {}): LeafMessage<'cmd/+'> => ({ ...envelope('cmd'), name, args, deadline: Date.now() + 60_000 });
const desired = (version: number): LeafMessage<'state/desired'> =>
  MESSAGE_REGISTRY['state/desired'].schema.parse({ ...envelope('state-desired'), version, apps: { web: { release: 1, services: { web: { image: 'nginx' } } } } });

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { log, lines, has: (msg: string) => lines.some((l) => l.msg === msg) };
}

/** Records subscribe calls, as a connected client would receive them. */
function fakeClient(): InboundClient & { subs: [string, number][]; unsubs: string[] } {
  const c = {
    connected: true,
    subs: [] as [string, number][],
    unsubs: [] as string[],
    subscribe(topic: string, opts: { qos: number }) {
      c.subs.push([topic, opts.qos]);
      return c;
    },
    unsubscribe(topic: string) {
      c.unsubs.push(topic);
      return c;
    },
    on() {
      return c;
    },
  };
  return c as unknown as InboundClient & { subs: [string, number][]; unsubs: string[] };
}

test('dispatcher subscribes with the registry QoS and replays subscriptions on each attach', () => {
  const { log } = capture();
  const d = new InboundDispatcher(TEST_DEVICE_ID, log);
  d.subscribe('throttled', () => undefined);
  d.subscribe('cmd/+', () => undefined);
  const first = fakeClient();
  d.attach(first);
  assert.deepEqual(first.subs, [
    [leafTopic(TEST_DEVICE_ID, 'throttled'), 0],
    [`pifleet/v1/dev/${TEST_DEVICE_ID}/cmd/+`, 1],
  ]);
  d.detach(first);
  const off = d.subscribe('hub/status', () => undefined);
  assert.equal(first.subs.length, 2, 'nothing is sent on a detached client');
  const second = fakeClient();
  d.attach(second);
  assert.deepEqual(second.subs.map(([t]) => t), [leafTopic(TEST_DEVICE_ID, 'throttled'), `pifleet/v1/dev/${TEST_DEVICE_ID}/cmd/+`, 'pifleet/v1/hub/status']);
  const late = d.subscribe('state/desired', () => undefined);
  assert.deepEqual(second.subs.at(-1), [leafTopic(TEST_DEVICE_ID, 'state/desired'), 1], 'a late subscribe goes out at once');
  off();
  late();
  assert.deepEqual(second.unsubs, ['pifleet/v1/hub/status', leafTopic(TEST_DEVICE_ID, 'state/desired')]);
});

test('dispatcher hands decoded messages to handlers and drops what does not belong', async () => {
  const { log, has } = capture();
  const d = new InboundDispatcher(TEST_DEVICE_ID, log);
  const got: [string, string | undefined][] = [];
  d.subscribe('cmd/+', (m, param) => {
    got.push([m.name, param]);
  });
  d.subscribe('cmd/+', () => {
    throw new Error('sync boom');
  });
  d.subscribe('cmd/+', async () => {
    throw new Error('async boom');
  });
  d.dispatch(leafTopic(TEST_DEVICE_ID, 'cmd/+', 'reboot'), json(cmd('reboot')));
  assert.deepEqual(got, [['reboot', 'reboot']]);
  await new Promise((r) => setImmediate(r));
  assert.ok(has('inbound handler failed'), 'handler failures are logged, not thrown');

  d.dispatch(leafTopic(TEST_DEVICE_ID, 'cmd/+', 'reboot'), Buffer.from('{nope'));
  d.dispatch(leafTopic(TEST_DEVICE_ID, 'cmd/+', 'reboot'), json(cmd('ping')));
  assert.ok(has('dropped invalid inbound message'));
  d.dispatch(leafTopic(OTHER, 'cmd/+', 'reboot'), json(cmd('reboot')));
  d.dispatch(leafTopic(TEST_DEVICE_ID, 'cmd/res'), json({ ...envelope('cmd-res'), re: 'x', ok: true }));
  d.dispatch('pifleet/v1/somewhere/else', json({}));
  assert.equal(got.length, 1, 'invalid, foreign, echoed and unknown messages reach no handler');
});

test('handlers only take leaves the hub publishes', () => {
  const d = new InboundDispatcher(TEST_DEVICE_ID, capture().log);
  // @ts-expect-error telemetry is published by the device
  d.subscribe('telemetry', () => undefined);
  // @ts-expect-error cmd/res is published by the device
  d.subscribe('cmd/res', () => undefined);
  d.subscribe('state/desired', (m) => {
    // The handler's message type is the leaf's schema output.
    const v: number = m.version;
    void v;
  });
});

/** The hub's side: publishes only (the test broker's Watcher would choke on the garbage sent here). */
async function hubClient(url: string) {
  const client = connect(url, { clientId: `hub-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
  await within('hub connect', new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  }), 5000);
  return {
    publish: async (topic: string, payload: string, retain: boolean) => {
      await within('hub publish', client.publishAsync(topic, payload, { qos: 1, retain }), 5000);
    },
    close: () => within('hub end', client.endAsync(true), 5000).catch(() => undefined),
  };
}

test('over a real broker: commands and desired state arrive decoded, bad payloads are dropped, subscriptions survive a reconnect', async (t) => {
  const broker = await TestBroker.start();
  let hub = await hubClient(broker.url);
  const { log, has } = capture();
  const link = testLink(broker.url, log);
  const stop = new AbortController();
  t.after(async () => {
    stop.abort();
    await link.close();
    await hub.close();
    await broker.stop();
  });
  const cmds: LeafMessage<'cmd/+'>[] = [];
  const states: LeafMessage<'state/desired'>[] = [];
  link.subscribe('cmd/+', (m) => {
    cmds.push(m);
  });
  link.subscribe('state/desired', (m) => {
    states.push(m);
  });
  link.start(stop.signal);
  await waitFor('connected', () => (link.connected ? true : undefined));

  /** Publishes until a handler saw it: a command is not retained, so it is lost if sent before the SUBACK. */
  const deliver = async (name: string): Promise<LeafMessage<'cmd/+'>> => {
    const m = cmd(name, { delayS: 1 });
    for (;;) {
      await hub.publish(leafTopic(TEST_DEVICE_ID, 'cmd/+', name), JSON.stringify(m), false);
      const seen = await waitFor(`cmd ${name}`, () => cmds.find((c) => c.id === m.id), 300).catch(() => undefined);
      if (seen) return seen;
    }
  };

  const reboot = await deliver('reboot');
  assert.deepEqual(reboot.args, { delayS: 1 });
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'state/desired'), JSON.stringify(desired(4)), true);
  const st = await waitFor('desired state', () => states.at(-1));
  assert.equal(st.version, 4);
  assert.deepEqual(st.apps, desired(st.version).apps);

  // Garbage and a command whose name differs from its topic: dropped, the connection stays.
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'cmd/+', 'reboot'), '{nope', false);
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'cmd/+', 'reboot'), JSON.stringify(cmd('wipe')), false);
  const before = cmds.length;
  await deliver('ping');
  assert.equal(cmds.length, before + 1, 'only the valid command reached the handler');
  assert.ok(has('dropped invalid inbound message'));
  assert.equal(link.currentSession, 1, 'still the first connection');

  // The registered hub-status and throttled handlers keep hubOnline's meaning.
  assert.equal(link.hubOnline, true, 'unknown hub status counts as online');
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'hub/status'), JSON.stringify({ ...envelope('hub-status'), state: 'offline' }), true);
  await waitFor('hub offline', () => (link.hubOnline ? undefined : true));
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'hub/status'), JSON.stringify({ ...envelope('hub-status'), state: 'online' }), true);
  await waitFor('hub online', () => (link.hubOnline ? true : undefined));
  const throttled = { ...envelope('throttled'), reason: 'bytes', retryAfterMs: 400 };
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'throttled'), JSON.stringify(throttled), false);
  await waitFor('throttled', () => (link.hubOnline ? undefined : true));
  await waitFor('throttle over', () => (link.hubOnline ? true : undefined), 3000);

  // A broker restart drops every connection; the link's next connection subscribes again.
  await hub.close();
  await broker.restart();
  hub = await hubClient(broker.url);
  await waitFor('reconnected', () => (link.connected && link.currentSession > 1 ? true : undefined));
  const again = await deliver('reboot');
  assert.equal(again.name, 'reboot');
  await hub.publish(leafTopic(TEST_DEVICE_ID, 'state/desired'), JSON.stringify(desired(5)), true);
  await waitFor('desired state after reconnect', () => (states.at(-1)?.version === 5 ? true : undefined));
});
