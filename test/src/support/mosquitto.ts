import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO } from './paths.js';
import { needService } from './skip.js';
import { freePort } from './wait.js';

export const MOSQUITTO_BIN = process.env['PIFLEET_MOSQUITTO_BIN'] ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_CTRL = process.env['PIFLEET_MOSQUITTO_CTRL'] ?? '/usr/bin/mosquitto_ctrl';
const TRIPLET: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf' };
/** Debian installs the plugin under the multiarch dir; other builds put it in /usr/lib. */
export const DYNSEC_PLUGIN =
  process.env['PIFLEET_DYNSEC_PLUGIN'] ??
  [`/usr/lib/${TRIPLET[process.arch] ?? process.arch}/mosquitto_dynamic_security.so`, '/usr/lib/mosquitto_dynamic_security.so'].find((p) => existsSync(p)) ??
  '/usr/lib/mosquitto_dynamic_security.so';

/** Enough log for a test to search (a debug log is one line per packet), bounded for long runs. */
const LOG_KEEP = 1024 * 1024;

export interface RunningMosquitto {
  /** mqtt://admin:<password>@127.0.0.1:<port> — what the hub takes as MQTT_URL. */
  url: string;
  port: number;
  /** Same broker without credentials (what devices are told). */
  deviceUrl: string;
  /** Stops the broker (SIGTERM, so it saves its state) and starts it again on the same port and files. */
  restart(downMs?: number): Promise<void>;
  /** What Mosquitto logged so far (its stderr, the most recent 1 MiB). */
  log(): string;
  stop(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BIN) && existsSync(MOSQUITTO_CTRL) && existsSync(DYNSEC_PLUGIN);
}

/** Skips the test (or fails it under PIFLEET_TEST_STRICT=1) when Mosquitto 2 + dynsec is missing. */
export function needMosquitto(t: TestContext): boolean {
  return needService(t, 'mosquitto 2 with the dynamic-security plugin', mosquittoAvailable(), 'apt-get install -y mosquitto');
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
  opts: { maxPayloadBytes?: number; logTypes?: string[] } = {},
): Promise<RunningMosquitto | undefined> {
  if (!needMosquitto(t)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-mosq-'));
  const password = `admin-${Math.random().toString(36).slice(2)}`;
  const dynsec = join(dir, 'dynamic-security.json');
  const init = spawnSync(MOSQUITTO_CTRL, ['dynsec', 'init', dynsec, 'admin', password], { encoding: 'utf8', timeout: 10_000 });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), testConfig({ port, dynsec, dir, maxPayloadBytes: opts.maxPayloadBytes, logTypes: opts.logTypes }));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let stderr = '';
  const launch = async (): Promise<ChildProcess> => {
    const proc = spawn(MOSQUITTO_BIN, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-LOG_KEEP);
      if (process.env['PIFLEET_MOSQUITTO_LOG'] === '1') process.stderr.write(d);
    });
    try {
      await waitForPort(port, proc, Date.now() + 10_000);
    } catch (e) {
      proc.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr.slice(-4000)}`);
    }
    return proc;
  };
  const halt = async (proc: ChildProcess): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  let child: ChildProcess;
  try {
    child = await launch();
  } catch (e) {
    cleanup();
    throw e;
  }
  return {
    url: `mqtt://admin:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    deviceUrl: `mqtt://127.0.0.1:${port}`,
    port,
    async restart(downMs = 0) {
      await halt(child);
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      child = await launch();
    },
    async stop() {
      await halt(child);
      cleanup();
    },
    log: () => stderr,
  };
}

/**
 * The production config (deploy/mosquitto/mosquitto.conf) with only what a test must change:
 * a loopback listener on a free port, this machine's plugin path, files in the temp dir. So the
 * settings operators deploy (ACL plugin, size limits, anonymous access) are the ones tested.
 */
function testConfig(o: { port: number; dynsec: string; dir: string; maxPayloadBytes?: number; logTypes?: string[] }): string {
  const lines = readFileSync(join(REPO, 'deploy/mosquitto/mosquitto.conf'), 'utf8').split('\n');
  let logTypesWritten = false;
  const out = lines.map((line) => {
    const key = line.split(/\s+/)[0];
    switch (key) {
      case 'listener':
        return `listener ${o.port} 127.0.0.1`;
      case 'plugin':
        return `plugin ${DYNSEC_PLUGIN}`;
      case 'plugin_opt_config_file':
        return `plugin_opt_config_file ${o.dynsec}`;
      case 'persistence_location':
        return `persistence_location ${o.dir}/`;
      case 'log_dest':
        return 'log_dest stderr';
      case 'log_type':
        // The deployed log types unless a test asks for others (all of them replace the first line).
        if (!o.logTypes) return line;
        if (logTypesWritten) return '';
        logTypesWritten = true;
        return o.logTypes.map((type) => `log_type ${type}`).join('\n');
      case 'message_size_limit':
        return o.maxPayloadBytes ? `message_size_limit ${o.maxPayloadBytes}` : line;
      case 'max_packet_size':
        return o.maxPayloadBytes ? `max_packet_size ${o.maxPayloadBytes + 1024}` : line;
      default:
        return line;
    }
  });
  // Run as whoever runs the tests: as root, Mosquitto would otherwise drop to user `mosquitto`,
  // which cannot read the 0700 temp dir holding the dynsec file.
  return [`user ${userInfo().username}`, ...out].join('\n');
}
