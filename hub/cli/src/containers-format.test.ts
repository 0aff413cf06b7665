import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containersHeader, containersView, lastExit, notes, servicesTable, uptime } from './containers-format.js';
import type { DeviceContainers, ServiceRecord } from './schemas.js';

const now = new Date('2025-01-31T12:00:00Z');
const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();
const inS = (s: number): string => new Date(now.getTime() + s * 1000).toISOString();

const svc = (over: Partial<ServiceRecord> = {}): ServiceRecord => ({
  deviceId: 'd1',
  device: 'kitchen',
  app: 'web',
  service: 'api',
  state: 'RUNNING',
  reportedState: 'RUNNING',
  release: 2,
  image: 'api:1',
  since: ago(3700),
  startedAt: ago(3725),
  restarts: 0,
  exitCode: null,
  oomKilled: false,
  health: 'healthy',
  crashLoop: false,
  nextStartAt: null,
  pausedUntil: null,
  stopped: false,
  pull: null,
  message: null,
  ...over,
});

const containers = (over: Partial<DeviceContainers> = {}): DeviceContainers => ({
  deviceId: 'd1',
  device: 'kitchen',
  online: true,
  desiredVersion: 7,
  reportedVersion: 7,
  appliedVersion: 7,
  engine: 'up',
  error: null,
  reportedAt: ago(5),
  services: [svc()],
  ...over,
});

void describe('ps output', () => {
  void it('heads the table with versions, engine and the last report', () => {
    assert.equal(containersHeader(containers(), now), 'kitchen (online)  desired v7  reported v7  applied v7  engine up  reported 5s ago\n');
    assert.equal(
      containersHeader(containers({ appliedVersion: 6, error: { code: 'image_pull_failed', message: 'manifest unknown', app: 'web', service: 'api', at: ago(120) } }), now),
      'kitchen (online)  desired v7  reported v7  applied v6 (applying)  engine up  reported 5s ago\n' + //
        'error: image_pull_failed in web/api: manifest unknown (2m ago)\n',
    );
    assert.equal(
      containersHeader(containers({ online: false, reportedVersion: null, appliedVersion: null, engine: null, reportedAt: null, services: [] }), now),
      'kitchen (offline)  desired v7  reported -  applied -  engine -  never reported\n',
    );
  });

  void it('shows one row per service with uptime, restarts, last exit and health', () => {
    const out = servicesTable([svc(), svc({ service: 'db', state: 'BACKOFF', startedAt: null, restarts: 4, exitCode: 137, oomKilled: true, health: null, crashLoop: true, nextStartAt: inS(20) })], true, now);
    assert.equal(
      out,
      'APP  SERVICE  STATE    UPTIME  RESTARTS  LAST EXIT  HEALTH   NOTES\n' + //
        'web  api      RUNNING  1h2m    0         -          healthy\n' +
        'web  db       BACKOFF  -       4         137 (OOM)  -        crash loop; next start in 20s\n',
    );
  });

  void it('says UNKNOWN for every service of an offline device, with what it last reported', () => {
    const out = servicesTable([svc({ state: 'UNKNOWN' }), svc({ service: 'db', state: 'RUNNING' })], false, now);
    const rows = out.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(row, /^web\s+\S+\s+UNKNOWN\s+-\s+0/);
      assert.match(row, /last reported RUNNING$/);
    }
  });

  void it('names operator stops, pauses, pulls and the agent message in NOTES', () => {
    assert.equal(notes(svc({ state: 'STOPPED', stopped: true }), true, now), 'stopped by operator');
    assert.equal(notes(svc({ pausedUntil: inS(600) }), true, now), 'restarts paused in 10m');
    assert.equal(notes(svc({ pausedUntil: ago(600) }), true, now), '', 'an expired pause is not shown');
    assert.equal(notes(svc({ state: 'PENDING', pull: { done: 30, total: 120 } }), true, now), 'pulling 25%');
    assert.equal(notes(svc({ message: 'x'.repeat(200) }), true, now).length, 80);
    assert.equal(notes(svc({ message: 'health check\nfailed' }), true, now), 'health check failed');
  });

  void it('formats last exit and uptime', () => {
    assert.equal(lastExit({ exitCode: 0, oomKilled: false }), '0');
    assert.equal(lastExit({ exitCode: null, oomKilled: true }), 'OOM');
    assert.equal(uptime(svc({ state: 'EXITED' }), true, now), '-');
    assert.equal(uptime(svc({ startedAt: ago(42) }), true, now), '42s');
    assert.equal(uptime(svc({ startedAt: ago(2 * 86_400 + 3 * 3600 + 5) }), true, now), '2d3h');
  });

  void it('says so when a device has no services', () => {
    assert.match(containersView(containers({ services: [] }), now), /\n\nNo services\.\n$/);
  });
});
