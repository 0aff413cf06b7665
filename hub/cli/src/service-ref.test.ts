import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT, type CliError } from './errors.js';
import type { DeviceContainers, ServiceRecord } from './schemas.js';
import { parseServiceArg, resolveApp } from './service-ref.js';

const record = (app: string, service: string): ServiceRecord => ({
  deviceId: 'd1', device: 'pi', app, service, state: 'RUNNING', reportedState: 'RUNNING', release: 1, image: 'x', since: null, startedAt: null,
  restarts: 0, exitCode: null, oomKilled: false, health: null, crashLoop: false, nextStartAt: null, pausedUntil: null, stopped: false, pull: null, message: null,
});
const device = (services: ServiceRecord[]): DeviceContainers => ({
  deviceId: 'd1', device: 'pi', online: true, desiredVersion: 3, reportedVersion: 3, appliedVersion: 3, engine: 'up', error: null, reportedAt: null, services,
});

void describe('parseServiceArg', () => {
  void it('reads app/service, a bare service, --app alone, and nothing', () => {
    assert.deepEqual(parseServiceArg('web/api', undefined), { app: 'web', service: 'api' });
    assert.deepEqual(parseServiceArg('api', undefined), { service: 'api' });
    assert.deepEqual(parseServiceArg('api', 'web'), { app: 'web', service: 'api' });
    assert.deepEqual(parseServiceArg('web/api', 'web'), { app: 'web', service: 'api' });
    assert.deepEqual(parseServiceArg(undefined, 'web'), { app: 'web' });
    assert.deepEqual(parseServiceArg(undefined, undefined), {});
  });

  void it('refuses malformed names as usage errors before any request', () => {
    for (const [arg, app, msg] of [
      ['a/b/c', undefined, /not a service/],
      ['/api', undefined, /invalid app name ''/],
      ['web/', undefined, /invalid service name ''/],
      ['we b', undefined, /invalid service name/],
      ['web/api', 'other', /--app other contradicts web\/api/],
      [undefined, '-x', /invalid app name '-x'/],
      ['x'.repeat(64), undefined, /invalid service name/],
    ] as const) {
      assert.throws(() => parseServiceArg(arg, app), (err: CliError) => err.exitCode === EXIT.usage && msg.test(err.message), String(arg));
    }
  });
});

void describe('resolveApp', () => {
  void it('finds the one app that has the service', () => {
    assert.equal(resolveApp('api', device([record('web', 'api'), record('web', 'db'), record('mon', 'agent')])), 'web');
  });

  void it('refuses to guess between apps and lists them', () => {
    assert.throws(() => resolveApp('db', device([record('web', 'db'), record('crm', 'db')])), /several apps on pi \(crm, web\); name one: crm\/db or web\/db/);
  });

  void it('says what the device has when the service is not there', () => {
    assert.throws(() => resolveApp('nope', device([record('web', 'api')])), /no service 'nope' on pi; it has web\/api$/);
    assert.throws(() => resolveApp('nope', device([])), /it has no services/);
  });
});
