#!/usr/bin/env node
/**
 * pifleet-agent composition root: reads config, builds the adapters and wires them together.
 * Nothing else in the package starts work at import time.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { connect } from 'mqtt';
import { NAME_PATTERN } from '@pifleet/protocol';
import { ConfigError, USAGE, parseConfig } from './config/config.js';
import { resolveDataDir } from './config/data-dir.js';
import { hideTokenFromProcessArgs } from './config/process-args.js';
import { readTokenFile } from './config/token-file.js';
import { enrollClient } from './identity/enroll-client.js';
import { EXIT_CONFIG, FatalError, ensureIdentity } from './identity/enrollment.js';
import { IdentityStore } from './identity/identity-store.js';
import { createLogger } from './log/logger.js';
import { describeAddress } from './engine/discovery.js';
import { DockerEngine } from './engine/docker-engine.js';
import { BundleFetcher } from './images/bundle-fetcher.js';
import { MqttLink } from './mqtt/mqtt-link.js';
import { SupervisionService } from './supervision/supervision-service.js';
import { collectDeviceInfo } from './system/device-info.js';
import { HostReader } from './telemetry/host-reader.js';
import { Sampler } from './telemetry/sampler.js';
import { TelemetryReporter } from './telemetry/telemetry-reporter.js';
import { Backoff } from './util/backoff.js';
import { loadExtraCa } from './util/tls-trust.js';

async function agentVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** SIGINT/SIGTERM abort the returned signal; a second signal exits at once (operator insists). */
function shutdownSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    ac.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) throw new FatalError(`invalid configuration: ${e.message}`, EXIT_CONFIG);
    throw e;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const version = await agentVersion();
  if (parsed.kind === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const config = parsed.config;
  // First thing: the token must not stay readable by every local user in our arguments.
  const hidden = config.tokenInArgs && config.token ? hideTokenFromProcessArgs(config.token) : undefined;
  // Child processes (vcgencmd) have no use for the token; only the parsed config keeps it.
  delete process.env['PIFLEET_TOKEN'];
  const ca = config.caFile
    ? await loadExtraCa(config.caFile).catch((e: unknown) => {
        throw new FatalError(`invalid configuration: ${(e as Error).message}`, EXIT_CONFIG);
      })
    : undefined;
  const log = createLogger(config.logLevel);
  if (config.tokenInArgs) {
    const where = hidden === false ? 'and the agent could not hide it there' : 'until the agent hides it at start';
    log.warn(
      `--token is in the process arguments, which every local user can read (ps, /proc/<pid>/cmdline) ${where}, and in shell history; pass it in PIFLEET_TOKEN or a file named by --token-file instead`,
    );
  }
  const stop = shutdownSignal();

  const { dir, fallback } = await resolveDataDir(config.dataDir);
  const store = new IdentityStore(dir);
  await store.init().catch((e: unknown) => {
    throw new FatalError(`cannot use data dir ${dir}: ${(e as Error).message}`, 1);
  });
  if (fallback) log.warn('data dir /var/lib/pifleet not writable, using fallback', { dataDir: dir });
  log.info('starting', { version, dataDir: dir });

  // The token file is read only when the token is needed, so deleting it after provisioning is fine.
  let token = config.token;
  if (!token && config.tokenFile && !(await store.loadIdentity())) {
    const fromFile = await readTokenFile(config.tokenFile).catch((e: unknown) => {
      throw e instanceof ConfigError ? new FatalError(`invalid configuration: ${e.message}`, EXIT_CONFIG) : e;
    });
    token = fromFile.token;
    if (fromFile.readableByOthers) log.warn('the token file is readable by other users; chmod 600 it (or delete it once the device is enrolled)');
  }

  const info = await collectDeviceInfo(version);
  const host = hostname();
  const identity = await ensureIdentity(
    {
      store,
      enroll: enrollClient({ ca }),
      log,
      hubUrl: config.hubUrl,
      token,
      name: config.name ?? (NAME_PATTERN.test(host) ? host : undefined),
      info,
    },
    stop,
  );
  if (!identity) return 0; // stopped while still waiting to enroll

  const linkLog = log.child({ deviceId: identity.deviceId });
  const link = new MqttLink({
    identity,
    info,
    keepaliveS: config.keepaliveS,
    connect,
    ca,
    nextSession: () => store.nextSession(),
    log: linkLog,
    backoff: new Backoff({ baseMs: 1000, capMs: config.reconnectMaxMs }),
    // First retry after a refusal within the normal cap (it may be a hub restart), then up to 5 min.
    refusedBackoff: new Backoff({ baseMs: config.reconnectMaxMs, capMs: Math.max(config.reconnectMaxMs, 300_000) }),
    // Callbacks fire only after link.start(), by which time `reporter` and `supervision` are initialised.
    onUp: () => {
      reporter.resume();
      supervision.linkUp();
    },
    onHubStatus: (online) => {
      if (online) reporter.resume();
      supervision.hubStatus(online);
    },
  });
  const reporter = new TelemetryReporter({
    source: new Sampler(new HostReader(), dir),
    sink: link,
    log: linkLog,
    sampleMs: config.sampleMs,
    publishMs: config.publishMs,
  });

  // The container engine (DOCKER_HOST, else /var/run/docker.sock). Without a usable address the
  // agent still runs: supervision stores what the hub wants and reports the engine down.
  let engine: DockerEngine | undefined;
  try {
    engine = new DockerEngine({ onBackgroundError: (err) => linkLog.debug('container engine background error', { err }) });
    linkLog.info('container engine', { address: describeAddress(engine.address) });
  } catch (e) {
    linkLog.error('container engine address is invalid; no containers will be run', { err: (e as Error).message });
  }
  // Image bundles come from the hub's public HTTP base (else the URL the device enrolled with).
  const bundleBase = identity.api?.url ?? identity.hub ?? config.hubUrl;
  const bundles =
    engine && bundleBase
      ? new BundleFetcher({ hubUrl: bundleBase, deviceId: identity.deviceId, password: identity.mqtt.password, dataDir: dir, engine, ca, log: linkLog })
      : undefined;
  const supervision = new SupervisionService({ engine, link, dataDir: dir, bundles, log: linkLog.child({ component: 'supervision' }) });
  await supervision.start(stop);

  link.start(stop);
  await reporter.start(stop);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));

  linkLog.info('shutting down', { signal: String(stop.reason) });
  await reporter.drainForShutdown();
  await supervision.stop();
  engine?.close();
  await link.close();
  linkLog.info('stopped');
  return 0;
}

function exit(code: number): void {
  process.exitCode = code;
  // Every handle is closed on the normal path; this only guards against a stuck socket at exit.
  setTimeout(() => process.exit(code), 2000).unref();
}

main(process.argv.slice(2)).then(exit, (e: unknown) => {
  const code = e instanceof FatalError ? e.exitCode : 1;
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
  process.stderr.write(`pifleet-agent: ${msg}\n`);
  exit(code);
});
