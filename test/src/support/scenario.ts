import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { AgentProcess } from './agent-process.js';
import { cleanEnv } from './child.js';
import type { HubProcess } from './hub-process.js';
import { CLI_MAIN } from './paths.js';
import { waitFor } from './wait.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled `pifleet` CLI with its own config dir. */
export function cli(configDir: string, args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI_MAIN, ...args], { env: cleanEnv({ PIFLEET_CONFIG: configDir }), timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    else child.stdin!.end();
  });
}

export function cliConfigDir(): string {
  return mkdtempSync(join(tmpdir(), 'pifleet-cli-'));
}

export interface DeviceView {
  id: string;
  name: string;
  online: boolean;
  status: string;
  lastSeenAt: string | null;
}

export async function device(hub: HubProcess, id: string): Promise<DeviceView> {
  const admin = await hub.admin();
  const r = await admin.get<DeviceView>(`/api/devices/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

export async function waitOnline(hub: HubProcess, id: string, online: boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(`device ${id} ${online ? 'online' : 'offline'}`, async () => (await device(hub, id)).online === online, timeoutMs, 100);
  return Date.now() - t0;
}

/** Tries to connect to the broker with a device's stored credential; resolves to the CONNACK error or 'connected'. */
export function tryConnect(identity: ReturnType<AgentProcess['identity']>, url = identity.mqtt.url): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      username: identity.mqtt.username,
      password: identity.mqtt.password,
      clientId: identity.mqtt.clientId,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const done = (v: string) => {
      c.end(true);
      resolve(v);
    };
    c.once('connect', () => done('connected'));
    c.once('error', (e) => done(`refused: ${e.message}`));
    c.once('close', () => done('closed'));
  });
}

/** Starts an agent with a token created through the CLI, as an operator would. */
export async function enrollWithCli(hub: HubProcess, name: string): Promise<{ agent: AgentProcess; deviceId: string; configDir: string }> {
  const configDir = cliConfigDir();
  const login = await cli(configDir, ['login', '--hub', hub.url, '--user', 'admin', '--password-stdin'], hub.adminPassword + '\n');
  assert.equal(login.code, 0, login.stderr);
  const created = await cli(configDir, ['token', 'create', '--fleet', 'default', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { token } = JSON.parse(created.stdout) as { token: string };
  assert.match(token, /\S{16,}/);
  const agent = new AgentProcess({ hubUrl: hub.url, token, name }).start();
  const deviceId = await waitFor(
    'agent identity',
    () => {
      if (!agent.child!.running) throw new Error(`agent exited:\n${agent.child!.output}`);
      try {
        return agent.identity().deviceId;
      } catch {
        return undefined;
      }
    },
    20_000,
  );
  return { agent, deviceId, configDir };
}
