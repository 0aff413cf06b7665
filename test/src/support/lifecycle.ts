import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { HubProcess } from './hub-process.js';
import { cli, device, enrollWithCli, tryConnect, waitOnline } from './scenario.js';
import { sleep, waitFor } from './wait.js';

export interface LifecycleOptions {
  keepaliveS: number;
  /** Optional extra check while the device is online (e.g. the dashboard shows it). */
  whileOnline?: (deviceId: string, name: string) => Promise<void>;
}

/**
 * The foundation's end-to-end story, with real processes: an operator makes a token with the CLI,
 * an agent enrolls with it and comes online, telemetry accumulates, a kill -9 is noticed within
 * keepalive × 1.5, a restart comes back as the same device without re-enrolling, and a revoke
 * cuts the device off within 2 s and keeps it out.
 */
export async function deviceLifecycle(t: TestContext, hub: HubProcess, opts: LifecycleOptions): Promise<void> {
  const name = `pi-${Math.random().toString(36).slice(2, 7)}`;
  const { agent, deviceId, configDir } = await enrollWithCli(hub, name);
  t.after(() => agent.stop('SIGKILL'));

  await waitOnline(hub, deviceId, true, 15_000);
  const listed = await cli(configDir, ['devices', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as { id: string; name: string; online: boolean; fleet: string; tags: string[]; lastSeenAt: string }[];
  const row = rows.find((d) => d.id === deviceId);
  assert.ok(row, `device ${deviceId} listed by the CLI`);
  assert.equal(row.name, name);
  assert.equal(row.online, true);
  assert.equal(row.fleet, 'default');
  assert.deepEqual(row.tags, []);

  if (opts.whileOnline) await opts.whileOnline(deviceId, name);

  // Telemetry rows accumulate (the test agent samples every 1 s and publishes every 2 s).
  const admin = await hub.admin();
  const points = async () => {
    const r = await admin.get<{ points: { cpu: number | null; memUsed: number | null; memTotal: number | null }[] }>(
      `/api/devices/${deviceId}/telemetry?resolution=raw&from=${new Date(Date.now() - 3600_000).toISOString()}`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.points;
  };
  const first = await waitFor('telemetry rows', async () => ((await points()).length >= 2 ? await points() : undefined), 20_000, 250);
  const p = first.at(-1)!;
  assert.ok(p.cpu !== null && p.cpu >= 0 && p.cpu <= 100, `cpu % in range: ${p.cpu}`);
  assert.ok(p.memUsed! > 0 && p.memUsed! <= p.memTotal!, 'memory used within total');
  await waitFor('more telemetry rows', async () => (await points()).length > first.length, 20_000, 250);

  // kill -9: no DISCONNECT, so only the broker's keepalive timeout and the Will can tell.
  await agent.stop('SIGKILL');
  const offlineMs = await waitOnline(hub, deviceId, false, 30_000);
  const bound = opts.keepaliveS * 1500;
  t.diagnostic(`offline ${offlineMs} ms after kill -9 (keepalive ${opts.keepaliveS} s, bound ${bound} ms + 1 s slack)`);
  assert.ok(offlineMs <= bound + 1000, `offline after ${offlineMs} ms, expected ≤ ${bound} ms (+1 s polling/slack)`);

  // Restart without the token: same device, no second enrollment.
  agent.start();
  await waitOnline(hub, deviceId, true, 20_000);
  const after = JSON.parse((await cli(configDir, ['devices', '--json'])).stdout) as { id: string; name: string }[];
  assert.equal(after.filter((d) => d.name.startsWith(name)).length, 1, 'no duplicate device after restart');
  const tokens = JSON.parse((await cli(configDir, ['token', 'list', '--json'])).stdout) as { uses: number }[];
  assert.ok(tokens.every((tk) => tk.uses <= 1), 'the token was used once');

  // Revoke: cut off within 2 s, refused afterwards.
  const identity = agent.identity();
  await sleep(500);
  const seen = agent.child!.output.length;
  const t0 = Date.now();
  const revoked = await cli(configDir, ['device', 'revoke', deviceId, '--yes']);
  assert.equal(revoked.code, 0, revoked.stderr);
  await waitFor('agent disconnected after revoke', () => /connection lost|refused|not authori[sz]ed|revoked/i.test(agent.child!.output.slice(seen)) || undefined, 2500, 50);
  const cutMs = Date.now() - t0;
  t.diagnostic(`agent cut off ${cutMs} ms after revoke`);
  assert.ok(cutMs <= 2000 + 300, `revoked device cut off after ${cutMs} ms`);
  const d = await device(hub, deviceId);
  assert.equal(d.status, 'revoked');
  assert.equal(d.online, false);
  assert.match(await tryConnect(identity), /^refused/, 'revoked credential is refused by the broker');
  await sleep(1500);
  assert.equal((await device(hub, deviceId)).online, false, 'a revoked device never comes back online');
}
