import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceSpecSchema, type ServiceSpecInput } from '@pifleet/protocol';
import { createPlan } from './container-spec.js';
import { LABELS } from './engine.js';

const spec = (input: Partial<ServiceSpecInput> = {}) => ServiceSpecSchema.parse({ image: 'nginx:1.27', ...input });

void test('the minimal spec: image, owner labels, restart policy no, the app default network with the service alias', () => {
  const p = createPlan('shop', 'web', spec(), 'abc', 3);
  assert.equal(p.name, 'pifleet_shop_web');
  assert.equal(p.body.Image, 'nginx:1.27');
  assert.equal(p.body.Cmd, undefined);
  assert.equal(p.body.Entrypoint, undefined);
  assert.equal(p.body.Healthcheck, undefined, 'absent healthcheck = the image own');
  assert.deepEqual(p.body.Labels, { [LABELS.managed]: 'true', [LABELS.app]: 'shop', [LABELS.service]: 'web', [LABELS.configHash]: 'abc', [LABELS.release]: '3' });
  assert.deepEqual(p.body.HostConfig?.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.equal(p.body.HostConfig?.NetworkMode, 'pifleet_shop_default');
  assert.deepEqual(p.body.NetworkingConfig, { EndpointsConfig: { pifleet_shop_default: { Aliases: ['web'] } } });
  assert.deepEqual(p.connect, []);
  assert.equal(p.body.StopTimeout, 10);
});

void test('the restart policy of the spec never reaches the engine; spec labels cannot override owner labels', () => {
  const p = createPlan('a', 's', spec({ restart: 'always', labels: { [LABELS.managed]: 'false', [LABELS.app]: 'evil', team: 'x' } }), 'h', 1);
  assert.equal(p.body.HostConfig?.RestartPolicy?.Name, 'no');
  assert.equal(p.body.Labels?.[LABELS.managed], 'true');
  assert.equal(p.body.Labels?.[LABELS.app], 'a');
  assert.equal(p.body.Labels?.['team'], 'x');
});

void test('command, entrypoint, env, user, workdir, init, stop signal and grace', () => {
  const p = createPlan(
    'a',
    's',
    spec({ command: ['sh', '-c', 'x'], entrypoint: ['/init'], environment: { A: '1', B: 'two words', C: '' }, user: '1000:1000', workingDir: '/srv', init: true, stopSignal: 'SIGINT', stopGraceMs: 2500 }),
    'h',
    1,
  );
  assert.deepEqual(p.body.Cmd, ['sh', '-c', 'x']);
  assert.deepEqual(p.body.Entrypoint, ['/init']);
  assert.deepEqual(p.body.Env, ['A=1', 'B=two words', 'C=']);
  assert.equal(p.body.User, '1000:1000');
  assert.equal(p.body.WorkingDir, '/srv');
  assert.equal(p.body.HostConfig?.Init, true);
  assert.equal(p.body.StopSignal, 'SIGINT');
  assert.equal(p.body.StopTimeout, 3, 'whole seconds, rounded up');
});

void test('ports: exposed, published with host IP and protocol, one target published twice', () => {
  const p = createPlan(
    'a',
    's',
    spec({
      ports: [
        { target: 80, published: 8080 },
        { target: 80, published: 8081, hostIp: '127.0.0.1' },
        { target: 53, published: 5353, protocol: 'udp' },
        { target: 9000 },
      ],
    }),
    'h',
    1,
  );
  assert.deepEqual(p.body.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
  assert.deepEqual(p.body.HostConfig?.PortBindings, {
    '80/tcp': [
      { HostIp: '', HostPort: '8080' },
      { HostIp: '127.0.0.1', HostPort: '8081' },
    ],
    '53/udp': [{ HostIp: '', HostPort: '5353' }],
  });
});

void test('mounts: named volumes get the app prefix, binds keep the host path, read-only, tmpfs with options', () => {
  const p = createPlan(
    'a',
    's',
    spec({
      mounts: [
        { type: 'volume', source: 'data', target: '/data' },
        { type: 'bind', source: '/srv/conf', target: '/etc/app', readOnly: true },
        { type: 'bind', source: '/odd:path', target: '/x' },
      ],
      tmpfs: ['/run', '/cache:size=64m,mode=1777'],
    }),
    'h',
    1,
  );
  assert.deepEqual(p.body.HostConfig?.Mounts, [
    { Type: 'volume', Source: 'pifleet_a_data', Target: '/data', ReadOnly: false },
    { Type: 'bind', Source: '/odd:path', Target: '/x', ReadOnly: false },
  ]);
  assert.deepEqual(p.body.HostConfig?.Binds, ['/srv/conf:/etc/app:ro']);
  assert.deepEqual(p.body.HostConfig?.Tmpfs, { '/run': '', '/cache': 'size=64m,mode=1777' });
});

void test('healthcheck: milliseconds become nanoseconds; null disables the image healthcheck', () => {
  const hc = createPlan('a', 's', spec({ healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 500, timeoutMs: 2000, retries: 2, startPeriodMs: 1000 } }), 'h', 1).body.Healthcheck;
  assert.deepEqual(hc, { Test: ['CMD-SHELL', 'true'], Interval: 500_000_000, Timeout: 2_000_000_000, Retries: 2, StartPeriod: 1_000_000_000 });
  assert.deepEqual(createPlan('a', 's', spec({ healthcheck: null }), 'h', 1).body.Healthcheck, { Test: ['NONE'] });
});

void test('limits, privileges, devices and capabilities', () => {
  const hc = createPlan(
    'a',
    's',
    spec({ memLimitBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, privileged: true, devices: [{ host: '/dev/i2c-1', container: '/dev/i2c-1' }], capAdd: ['NET_ADMIN'], capDrop: ['ALL'] }),
    'h',
    1,
  ).body.HostConfig;
  assert.equal(hc?.Memory, 64 * 1024 * 1024);
  assert.equal(hc?.NanoCpus, 500_000_000);
  assert.equal(hc?.Privileged, true);
  assert.deepEqual(hc?.Devices, [{ PathOnHost: '/dev/i2c-1', PathInContainer: '/dev/i2c-1', CgroupPermissions: 'rwm' }]);
  assert.deepEqual(hc?.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(hc?.CapDrop, ['ALL']);
});

void test('networks: the first at create, the rest connected after, the service name as alias on each', () => {
  const p = createPlan('a', 'api', spec({ networks: ['front', 'back', 'metrics'] }), 'h', 1);
  assert.equal(p.body.HostConfig?.NetworkMode, 'pifleet_a_front');
  assert.deepEqual(p.body.NetworkingConfig?.EndpointsConfig, { pifleet_a_front: { Aliases: ['api'] } });
  assert.deepEqual(p.connect, [
    { network: 'pifleet_a_back', aliases: ['api'] },
    { network: 'pifleet_a_metrics', aliases: ['api'] },
  ]);
});

void test('network modes: host, none and bridge as they are; service:<name> joins that service container', () => {
  for (const mode of ['host', 'none', 'bridge']) {
    const p = createPlan('a', 's', spec({ networkMode: mode, networks: ['ignored'] }), 'h', 1);
    assert.equal(p.body.HostConfig?.NetworkMode, mode);
    assert.equal(p.body.NetworkingConfig, undefined);
    assert.deepEqual(p.connect, []);
  }
  assert.equal(createPlan('a', 's', spec({ networkMode: 'service:vpn' }), 'h', 1).body.HostConfig?.NetworkMode, 'container:pifleet_a_vpn');
});
