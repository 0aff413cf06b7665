// Container supervision end to end, as an operator and a Pi see it: a real hub process, a real
// agent process and Podman's Docker API. The agent gets a Podman service of its own (not the
// run's shared one): a real agent owns every pifleet container on its engine, and other test
// files' containers on a shared engine are not its to reconcile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTestImages, podmanBinary, startPodmanService, type PodmanService } from '@pifleet/agent/testing/podman';
import type { ApplyAppResult, DeviceContainers, ServiceEvent } from '@pifleet/hub';
import { AgentProcess } from './support/agent-process.js';
import type { Api } from './support/api.js';
import { containersWithLabels, enginePost, engineGet, type EngineInspect } from './support/engine-api.js';
import { HubProcess } from './support/hub-process.js';
import { needService } from './support/skip.js';
import { waitFor } from './support/wait.js';

let podman: PodmanService | undefined;
let image = '';
let hub: HubProcess;
let api: Api;
let agent: AgentProcess;
let deviceId = '';
const agents: AgentProcess[] = [];

before(async () => {
  if (!podmanBinary()) return;
  podman = await startPodmanService();
  image = (await ensureTestImages(podman.socketPath)).busybox;
  hub = await new HubProcess().start();
  api = await hub.admin();
  agent = new AgentProcess({ hubUrl: hub.url, token: await hub.createToken(), env: { DOCKER_HOST: podman.dockerHost } }).start();
  agents.push(agent);
  deviceId = (
    await waitFor('the agent online', async () => (await api.get<{ id: string; online: boolean }[]>('/api/devices')).body.find((d) => d.online), 60_000)
  ).id;
});

after(async () => {
  for (const a of agents) await a.stop();
  await hub?.stop();
  await podman?.stop();
});

const containers = async (): Promise<DeviceContainers> => {
  const r = await api.get<DeviceContainers>(`/api/devices/${deviceId}/containers`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const service = async (app: string, name: string) => (await containers()).services.find((s) => s.app === app && s.service === name);
const history = async (app: string, name: string): Promise<ServiceEvent[]> =>
  (await api.get<ServiceEvent[]>(`/api/devices/${deviceId}/services/${app}/${name}/history?limit=500`)).body;
const engineContainer = async (app: string, name: string): Promise<EngineInspect | undefined> => {
  const [c] = await containersWithLabels(podman!.socketPath, { 'io.pifleet.app': app, 'io.pifleet.service': name });
  return c ? engineGet<EngineInspect>(podman!.socketPath, `/containers/${c.Id}/json`) : undefined;
};
async function apply(compose: string): Promise<ApplyAppResult> {
  const r = await api.post<ApplyAppResult>('/api/apps/apply', { compose, fleet: 'default' });
  assert.ok(r.status === 200 || r.status === 201, `apply: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const shop = (greeting: string): string => `
name: shop
services:
  web:
    image: ${image}
    command: ["sh", "-c", "echo ok > /tmp/ready; exec sleep 86400"]
    stop_grace_period: 1s
    restart: always
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 2
  cache:
    image: ${image}
    command: ["sleep", "86400"]
    stop_grace_period: 1s
    restart: always
  worker:
    image: ${image}
    command: ["sh", "-c", "echo $$GREETING; exec sleep 86400"]
    environment:
      GREETING: ${greeting}
    stop_grace_period: 1s
    restart: always
    depends_on:
      web:
        condition: service_healthy
`;

test('a 3-service compose app applied on the hub runs on the device; a changed service alone is recreated', async (t) => {
  if (!needService(t, 'Podman', podman !== undefined, 'apt-get install podman runc busybox-static')) return;
  const first = await apply(shop('hello'));
  assert.deepEqual(first.plan.map((p) => `${p.service}:${p.change}`).sort(), ['cache:create', 'web:create', 'worker:create']);
  await waitFor('every service RUNNING on the hub', async () => {
    const c = await containers();
    return c.services.length === 3 && c.services.every((s) => s.state === 'RUNNING') && c.appliedVersion === c.desiredVersion;
  }, 90_000);
  const before = { web: (await engineContainer('shop', 'web'))!.Id, cache: (await engineContainer('shop', 'cache'))!.Id, worker: (await engineContainer('shop', 'worker'))!.Id };

  const second = await apply(shop('bonjour'));
  assert.deepEqual(second.plan.filter((p) => p.change !== 'unchanged').map((p) => [p.service, p.change, p.fields]), [['worker', 'recreate', ['environment']]]);
  const worker = await waitFor('the worker recreated with the new environment', async () => {
    const w = await engineContainer('shop', 'worker');
    return w && w.Id !== before.worker && w.State.Running && w.Config.Env?.includes('GREETING=bonjour') ? w : undefined;
  }, 60_000);
  assert.ok(worker);
  assert.equal((await engineContainer('shop', 'web'))!.Id, before.web, 'web kept its container');
  assert.equal((await engineContainer('shop', 'cache'))!.Id, before.cache, 'cache kept its container');
  await waitFor('the hub sees release 2 running', async () => (await service('shop', 'worker'))?.release === 2 && (await service('shop', 'worker'))?.state === 'RUNNING', 30_000);
});

test('with the hub down the agent keeps supervising, and the history arrives once when the hub returns', async (t) => {
  if (!needService(t, 'Podman', podman !== undefined, 'apt-get install podman runc busybox-static')) return;
  await waitFor('cache RUNNING', async () => (await service('shop', 'cache'))?.state === 'RUNNING', 60_000);
  const killedBefore = (await history('shop', 'cache')).filter((e) => e.exitCode === 137).length;
  const startedAt = (await engineContainer('shop', 'cache'))!.State.StartedAt;

  await hub.stop();
  const id = (await engineContainer('shop', 'cache'))!.Id;
  await enginePost(podman!.socketPath, `/containers/${id}/kill?signal=KILL`);
  // The agent restarts too, while the hub is still away: what it learnt must survive that.
  await agent.stop();
  agent.start();
  const restarted = await waitFor('cache restarted by the agent alone', async () => {
    const c = await engineContainer('shop', 'cache');
    return c?.State.Running && c.State.StartedAt !== startedAt ? c : undefined;
  }, 60_000);
  assert.equal(restarted.Id, id, 'restarted in place, not recreated');

  await hub.start();
  api = await hub.admin();
  const deaths = await waitFor('the death in the hub history', async () => {
    const h = (await history('shop', 'cache')).filter((e) => e.exitCode === 137);
    return h.length > killedBefore ? h : undefined;
  }, 60_000);
  assert.equal(deaths.length, killedBefore + 1, 'one kill, one recorded death');
  const ids = (await history('shop', 'cache')).map((e) => e.eventId);
  assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
  await waitFor('cache RUNNING again on the hub', async () => (await service('shop', 'cache'))?.state === 'RUNNING', 60_000);

  // Reconnecting again re-sends nothing already stored.
  await agent.stop();
  agent.start();
  await waitFor('the agent online again', async () => (await containers()).online, 60_000);
  await waitFor('the reported state fresh after the reconnect', async () => (await service('shop', 'cache'))?.state === 'RUNNING', 30_000);
  // The agent may record that it found the service running; nothing that happened before comes again.
  const again = await history('shop', 'cache');
  assert.equal(new Set(again.map((e) => e.eventId)).size, again.length);
  for (const id of ids) assert.ok(again.some((e) => e.eventId === id), `event ${id} kept`);
  const fresh = again.filter((e) => !ids.includes(e.eventId));
  assert.ok(fresh.every((e) => e.exitCode === null && e.to === 'RUNNING'), `only a found-running record is new: ${JSON.stringify(fresh)}`);
});

test('an operator stop holds across a reconcile and an agent restart; start brings the service back', async (t) => {
  if (!needService(t, 'Podman', podman !== undefined, 'apt-get install podman runc busybox-static')) return;
  const act = async (action: string): Promise<void> => {
    const r = await api.post(`/api/devices/${deviceId}/services/action`, { action, app: 'shop', service: 'cache' });
    assert.ok(r.status === 200 || r.status === 201, `${action}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await act('stop');
  await waitFor('cache STOPPED', async () => (await service('shop', 'cache'))?.state === 'STOPPED', 60_000);
  assert.equal((await service('shop', 'cache'))?.stopped, true);
  await apply(shop('hallo'));
  await agent.stop();
  agent.start();
  await waitFor('the new release applied', async () => {
    const c = await containers();
    return c.online && c.appliedVersion === c.desiredVersion && (await service('shop', 'worker'))?.release === 3;
  }, 90_000);
  assert.equal((await service('shop', 'cache'))?.state, 'STOPPED');
  assert.equal((await engineContainer('shop', 'cache'))?.State.Running ?? false, false, 'the engine runs no cache');
  await act('start');
  await waitFor('cache RUNNING after start', async () => (await service('shop', 'cache'))?.state === 'RUNNING', 60_000);
});

test('an image the engine cannot get is an apply error on the hub, and the other apps keep running', async (t) => {
  if (!needService(t, 'Podman', podman !== undefined, 'apt-get install podman runc busybox-static')) return;
  const r = await api.post<ApplyAppResult>('/api/apps/apply', {
    fleet: 'default',
    compose: 'name: ghost\nservices:\n  app:\n    image: localhost/pifleet-test/does-not-exist:1\n',
  });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
  const c = await waitFor('the apply error reported', async () => {
    const c = await containers();
    return c.error ? c : undefined;
  }, 90_000);
  assert.match(c.error!.code, /image_missing|image_pull_failed/);
  assert.equal(c.error!.app, 'ghost');
  assert.ok(c.services.filter((s) => s.app === 'shop').every((s) => s.state === 'RUNNING' || s.state === 'STOPPED'));
  const alerts = await api.get<{ kind: string; deviceId: string }[]>(`/api/alerts?open=true&device=${deviceId}`);
  assert.ok(alerts.body.some((a) => a.kind === 'apply_failed'), JSON.stringify(alerts.body));
  const rm = await api.delete(`/api/apps/default/ghost`);
  assert.ok(rm.status === 200 || rm.status === 201, JSON.stringify(rm.body));
  await waitFor('the error cleared once the app is removed', async () => (await containers()).error === null, 60_000);
});
