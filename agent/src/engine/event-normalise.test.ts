import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseEvent } from './event-normalise.js';
import type Docker from 'dockerode';
import { normaliseHealth, normaliseStatus, parseTime, toManagedContainer } from './container-state.js';

// Samples as the engines send them (Docker 24-27, Podman 4.3 from this machine, Podman 5).

const owned = { 'io.pifleet.managed': 'true', 'io.pifleet.app': 'shop', 'io.pifleet.service': 'web', image: 'x', name: 'pifleet_shop_web' };
const ev = (action: string, attrs: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
  status: action,
  id: 'c1',
  Type: 'container',
  Action: action,
  Actor: { ID: 'c1', Attributes: { ...owned, ...attrs } },
  time: 1_700_000_000,
  timeNano: 1.700000000123e18,
  ...extra,
});

void test('start, die with exit code, oom, destroy; time from timeNano', () => {
  assert.deepEqual(normaliseEvent(ev('start')), { kind: 'start', containerId: 'c1', app: 'shop', service: 'web', at: 1_700_000_000_123 });
  assert.deepEqual(normaliseEvent(ev('die', { exitCode: '137' })), { kind: 'die', containerId: 'c1', app: 'shop', service: 'web', at: 1_700_000_000_123, exitCode: 137 });
  assert.equal(normaliseEvent(ev('oom'))?.kind, 'oom');
  assert.equal(normaliseEvent(ev('destroy'))?.kind, 'destroy');
  const noNano = { ...ev('start'), timeNano: undefined };
  assert.equal(normaliseEvent(noNano)?.at, 1_700_000_000_000);
});

void test('Podman: containerExitCode on every event counts only on die; remove and died spell destroy and die', () => {
  assert.equal(normaliseEvent(ev('die', { exitCode: '3', containerExitCode: '3' }))?.exitCode, 3);
  assert.equal(normaliseEvent(ev('start', { containerExitCode: '0' }))?.exitCode, undefined);
  assert.equal(normaliseEvent(ev('remove'))?.kind, 'destroy');
  assert.equal(normaliseEvent(ev('died', { exitCode: '1' }))?.kind, 'die');
});

void test('health: Docker in the action, Podman 4 in HealthStatus, Podman 5 in the attributes', () => {
  assert.deepEqual(normaliseEvent(ev('health_status: healthy')), { kind: 'health', containerId: 'c1', app: 'shop', service: 'web', at: 1_700_000_000_123, health: 'healthy' });
  assert.equal(normaliseEvent(ev('health_status', {}, { HealthStatus: 'unhealthy' }))?.health, 'unhealthy');
  assert.equal(normaliseEvent(ev('health_status', { health_status: 'starting' }))?.health, 'starting');
  assert.equal(normaliseEvent(ev('health_status')), null, 'a health event without a status says nothing');
  assert.equal(normaliseEvent(ev('health_status: bogus')), null);
});

void test('what supervision does not need is dropped: Podman init/cleanup/exec_died, create, kill, other types', () => {
  for (const a of ['init', 'cleanup', 'exec_died', 'exec_create: sh', 'create', 'kill', 'stop', 'attach', 'pause']) assert.equal(normaliseEvent(ev(a)), null, a);
  assert.equal(normaliseEvent({ ...ev('start'), Type: 'network' }), null);
  assert.equal(normaliseEvent(null), null);
  assert.equal(normaliseEvent('start'), null);
});

void test("another's container is never reported, even if the engine ignored the label filter", () => {
  assert.equal(normaliseEvent(ev('start', { 'io.pifleet.managed': 'false' })), null);
  const bare = { ...ev('die'), Actor: { ID: 'c2', Attributes: { exitCode: '0', name: 'portainer' } } };
  assert.equal(normaliseEvent(bare), null);
});

void test('statuses: Podman stopped/configured/stopping map to Docker words; unknown is dead', () => {
  assert.equal(normaliseStatus('running'), 'running');
  assert.equal(normaliseStatus('exited'), 'exited');
  assert.equal(normaliseStatus('stopped'), 'exited');
  assert.equal(normaliseStatus('configured'), 'created');
  assert.equal(normaliseStatus('initialized'), 'created');
  assert.equal(normaliseStatus('stopping'), 'running');
  assert.equal(normaliseStatus('Running'), 'running');
  assert.equal(normaliseStatus('weird'), 'dead');
  assert.equal(normaliseStatus(undefined), 'dead');
  assert.equal(normaliseHealth('healthy'), 'healthy');
  assert.equal(normaliseHealth(''), null);
  assert.equal(normaliseHealth('none'), null);
  assert.equal(parseTime('0001-01-01T00:00:00Z'), null);
  assert.equal(parseTime('2024-05-01T10:00:00.5Z'), Date.parse('2024-05-01T10:00:00.5Z'));
  assert.equal(parseTime('garbage'), null);
});

void test('inspect -> ManagedContainer: OOM flag, exit code only once it ran and ended, labels, unowned is null', () => {
  const info = (state: Record<string, unknown>, labels: Record<string, string> = { 'io.pifleet.managed': 'true', 'io.pifleet.app': 'a', 'io.pifleet.service': 's', 'io.pifleet.config-hash': 'h', 'io.pifleet.release': '4' }) =>
    ({ Id: 'c1', Name: '/pifleet_a_s', Config: { Labels: labels, Image: 'img:1' }, State: state }) as unknown as Docker.ContainerInspectInfo;
  const oom = toManagedContainer(info({ Status: 'exited', ExitCode: 137, OOMKilled: true, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '2024-01-01T00:00:05Z' }));
  assert.deepEqual(oom, {
    id: 'c1',
    name: 'pifleet_a_s',
    app: 'a',
    service: 's',
    configHash: 'h',
    release: 4,
    image: 'img:1',
    status: 'exited',
    exitCode: 137,
    oomKilled: true,
    startedAt: Date.parse('2024-01-01T00:00:00Z'),
    finishedAt: Date.parse('2024-01-01T00:00:05Z'),
    health: null,
  });
  const fresh = toManagedContainer(info({ Status: 'configured', ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' }));
  assert.equal(fresh?.status, 'created');
  assert.equal(fresh.exitCode, null);
  assert.equal(fresh.startedAt, null);
  const running = toManagedContainer(info({ Status: 'running', ExitCode: 0, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z', Health: { Status: 'unhealthy' } }));
  assert.equal(running?.exitCode, null);
  assert.equal(running.finishedAt, null);
  assert.equal(running.health, 'unhealthy');
  const stopped = toManagedContainer(info({ Status: 'stopped', ExitCode: 1, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '2024-01-01T00:00:01Z' }));
  assert.deepEqual([stopped?.status, stopped?.exitCode], ['exited', 1]);
  assert.equal(toManagedContainer(info({ Status: 'running' }, { 'io.pifleet.app': 'a' })), null);
  assert.equal(toManagedContainer(info({ Status: 'running' }, { 'io.pifleet.managed': 'true', 'io.pifleet.release': 'x' }))?.release, 0);
});
