import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needService } from './skip.js';

export const MOSQUITTO_BIN = process.env['PIFLEET_MOSQUITTO_BIN'] ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_CTRL = process.env['PIFLEET_MOSQUITTO_CTRL'] ?? '/usr/bin/mosquitto_ctrl';
export const DYNSEC_PLUGIN =
  process.env['PIFLEET_DYNSEC_PLUGIN'] ?? '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export interface RunningMosquitto {
  /** mqtt://admin:<password>@127.0.0.1:<port> — what the hub takes as MQTT_URL. */
  url: string;
  port: number;
  /** Same broker without credentials (what devices are told). */
  deviceUrl: string;
  stop(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BIN) && existsSync(MOSQUITTO_CTRL) && existsSync(DYNSEC_PLUGIN);
}

/** Skips the test (or fails it under PIFLEET_TEST_STRICT=1) when Mosquitto 2 + dynsec is missing. */
export function needMosquitto(t: TestContext): boolean {
  return needService(t, 'mosquitto 2 with the dynamic-security plugin', mosquittoAvailable(), 'apt-get install -y mosquitto');
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port} in time`);
}

/**
 * Starts a private Mosquitto 2 with the dynamic-security plugin on a free loopback port, its config,
 * dynsec file and persistence in a fresh temp dir (never the system broker on 1883). The admin
 * client created by `mosquitto_ctrl dynsec init` is what the hub uses (see deploy/mosquitto/README.md).
 * Returns undefined when the test was skipped because Mosquitto is not installed.
 */
export async function startMosquitto(
  t: TestContext,
  opts: { maxPayloadBytes?: number } = {},
): Promise<RunningMosquitto | undefined> {
  if (!needMosquitto(t)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-mosq-'));
  const password = `admin-${Math.random().toString(36).slice(2)}`;
  const dynsec = join(dir, 'dynamic-security.json');
  const init = spawnSync(MOSQUITTO_CTRL, ['dynsec', 'init', dynsec, 'admin', password], { encoding: 'utf8', timeout: 10_000 });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const max = opts.maxPayloadBytes ?? 256 * 1024;
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      // Run as whoever runs the tests: as root, Mosquitto would otherwise drop to user `mosquitto`,
      // which cannot read the 0700 temp dir holding the dynsec file.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsec}`,
      `message_size_limit ${max}`,
      `max_packet_size ${max + 1024}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child = spawn(MOSQUITTO_BIN, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env['PIFLEET_MOSQUITTO_LOG'] === '1') process.stderr.write(d);
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitForPort(port, child, Date.now() + 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return {
    url: `mqtt://admin:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    deviceUrl: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}
