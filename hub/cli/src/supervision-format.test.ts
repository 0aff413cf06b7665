import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appsTable, planCounts, planTable, releasesTable, resultLine } from './apps-format.js';
import { auditTable, detailText } from './commands/audit.js';
import { historyTable, shortIso } from './history-format.js';
import type { ApplyAppResult, Release, ServiceEvent } from './schemas.js';

const now = new Date('2025-01-31T12:00:00Z');

const release = (over: Partial<Release> = {}): Release => ({
  app: 'web', fleet: 'default', number: 3, device: null, compose: 'services: {}', rollbackOf: null, removed: false, createdBy: 'admin', createdAt: '2025-01-31T11:00:00Z', current: true, ...over,
});

void describe('apps output', () => {
  const plan: ApplyAppResult['plan'] = [
    { device: 'pi-1', app: 'web', service: 'api', change: 'create' },
    { device: 'pi-2', app: 'web', service: 'api', change: 'recreate', fields: ['image', 'environment'] },
    { device: 'pi-2', app: 'web', service: 'db', change: 'unchanged' },
  ];

  void it('prints the plan as DEVICE, APP, SERVICE, CHANGE, FIELDS', () => {
    assert.equal(
      planTable(plan),
      'DEVICE  APP  SERVICE  CHANGE     FIELDS\n' + //
        'pi-1    web  api      create\n' +
        'pi-2    web  api      recreate   image,environment\n' +
        'pi-2    web  db       unchanged\n',
    );
    assert.equal(planTable([]), 'No devices affected.\n');
    assert.equal(planCounts(plan), '1 to create, 1 to recreate, 1 unchanged');
  });

  void it('names the release created, or says clearly that a dry run changed nothing', () => {
    assert.equal(resultLine({ app: 'web', fleet: 'default', plan, dryRun: false, release: release() }, 'Applied'), 'Applied: release 3 of web for fleet default (1 to create, 1 to recreate, 1 unchanged).\n');
    assert.equal(
      resultLine({ app: 'web', fleet: 'default', plan, dryRun: false, release: release({ device: 'pi-2', number: 4 }) }, 'Applied'),
      'Applied: release 4 of web for device pi-2 (fleet default) (1 to create, 1 to recreate, 1 unchanged).\n',
    );
    assert.match(resultLine({ app: 'web', fleet: 'default', plan, dryRun: true }, 'Applied'), /^Dry run: nothing was changed and no release was created/);
  });

  void it('lists releases with their scope and the one in force', () => {
    const out = releasesTable([release({ number: 4, rollbackOf: 2 }), release({ number: 3, current: false, device: 'pi-1' }), release({ number: 2, current: false, removed: true, createdBy: null })], now);
    assert.equal(
      out,
      'RELEASE  SCOPE        CURRENT  NOTE        BY     CREATED\n' +
        '4        fleet        *        restores 2  admin  1h ago\n' +
        '3        device pi-1                       admin  1h ago\n' +
        '2        fleet                 removed     -      1h ago\n',
    );
  });

  void it('lists apps, a removed one without a release number', () => {
    const out = appsTable([{ name: 'web', fleet: 'default', release: null, services: ['api', 'db'], overrides: ['pi-1'], updatedAt: '2025-01-31T11:59:00Z' }], now);
    assert.match(out, /^NAME\s+FLEET\s+RELEASE\s+SERVICES\s+OVERRIDES\s+UPDATED\nweb\s+default\s+removed\s+api,db\s+pi-1\s+1m ago\n$/);
  });
});

void describe('service history output', () => {
  const ev = (over: Partial<ServiceEvent> = {}): ServiceEvent => ({
    eventId: 'e1', deviceId: 'd1', app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', at: '2025-01-31T11:59:58.123Z',
    exitCode: 1, oomKilled: false, runMs: 2300, restarts: 3, delayMs: 4000, crashLoop: true, logTail: ['panic: boom', '\u001b[31mred\u001b[0m'], message: null, ...over,
  });

  void it('shows time, from -> to, reason, exit, run length and restarts; --verbose adds the log tail under its row', () => {
    const events = [ev(), ev({ eventId: 'e0', from: 'STARTING', to: 'RUNNING', reason: 'started', exitCode: null, runMs: null, restarts: null, delayMs: null, crashLoop: false, logTail: [], at: '2025-01-31T11:59:50Z' })];
    const plain = historyTable(events, false);
    assert.equal(
      plain,
      'TIME                  CHANGE               REASON   EXIT  RUN  RESTARTS  NOTE\n' +
        '2025-01-31 11:59:58Z  RUNNING -> BACKOFF   exited   1     2s   3         crash loop; next start in 4s\n' +
        '2025-01-31 11:59:50Z  STARTING -> RUNNING  started  -     -    -\n',
    );
    const verbose = historyTable(events, true).split('\n');
    assert.deepEqual(verbose.slice(2, 4), ['    | panic: boom', '    | ?[31mred?[0m']);
    assert.match(verbose[4]!, /^2025-01-31 11:59:50Z\s+STARTING -> RUNNING/);
  });

  void it('prints times to the second in UTC', () => {
    assert.equal(shortIso('2025-01-31T13:59:58.999+02:00'), '2025-01-31 11:59:58Z');
    assert.equal(shortIso('not a time'), 'not a time');
  });
});

void describe('audit output', () => {
  void it('prints detail as key=value and cuts it short', () => {
    assert.equal(detailText({ release: 3, app: 'web', plan: { create: 1 } }), 'release=3 app=web plan={"create":1}');
    assert.equal([...detailText({ x: 'y'.repeat(500) })].length, 100);
    const out = auditTable([{ id: 1, at: '2025-01-31T11:00:00Z', actor: 'admin', action: 'app.apply', targetType: 'app', target: 'default/web', result: 'ok', detail: { release: 3 } }]);
    assert.equal(out, 'TIME                  ACTOR  ACTION     TARGET           RESULT  DETAIL\n2025-01-31 11:00:00Z  admin  app.apply  app:default/web  ok      release=3\n');
  });
});
