import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_KEEPALIVE_S, NAME_PATTERN, TELEMETRY_PUBLISH_MS, TELEMETRY_SAMPLE_MS } from '@pifleet/protocol';
import { LOG_LEVELS } from '../log/logger.js';

/** Flag name → env variable. Flags win over env; both are optional at this stage. */
const SOURCES = {
  hub: 'PIFLEET_HUB',
  token: 'PIFLEET_TOKEN',
  'token-file': 'PIFLEET_TOKEN_FILE',
  'data-dir': 'PIFLEET_AGENT_DATA_DIR',
  name: 'PIFLEET_AGENT_NAME',
  ca: 'PIFLEET_AGENT_CA',
  keepalive: 'PIFLEET_AGENT_KEEPALIVE',
  'sample-interval': 'PIFLEET_AGENT_SAMPLE_MS',
  'publish-interval': 'PIFLEET_AGENT_PUBLISH_MS',
  'reconnect-max': 'PIFLEET_AGENT_RECONNECT_MAX_MS',
  'log-level': 'PIFLEET_AGENT_LOG_LEVEL',
} as const;
type Source = keyof typeof SOURCES;

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A provisioning token, from wherever it came (flag, env or file). */
export const TokenSchema = z.string().min(8, 'looks truncated').max(256);

const ConfigSchema = z.object({
  hub: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  token: TokenSchema.optional(),
  'token-file': z.string().min(1).optional(),
  'data-dir': z.string().min(1).optional(),
  name: z.string().regex(NAME_PATTERN, 'must be 1-63 chars of [A-Za-z0-9._-]').optional(),
  ca: z.string().min(1).optional(),
  keepalive: intFrom(1, 3600).default(DEFAULT_KEEPALIVE_S),
  'sample-interval': intFrom(100, 3_600_000).default(TELEMETRY_SAMPLE_MS),
  'publish-interval': intFrom(100, 3_600_000).default(TELEMETRY_PUBLISH_MS),
  'reconnect-max': intFrom(1000, 600_000).default(15_000),
  'log-level': z.enum(LOG_LEVELS).default('info'),
});

export interface AgentConfig {
  /** Hub base URL; only needed to enroll. */
  hubUrl: string | undefined;
  /** Provisioning token; ignored once an identity exists. Never log it. */
  token: string | undefined;
  /** File holding the token instead (read only when enrolling; see token-file.ts). */
  tokenFile: string | undefined;
  /**
   * The token was given as --token, so it is in the process arguments, which every local user can
   * read (ps, /proc/<pid>/cmdline); main.ts hides it there and warns.
   */
  tokenInArgs: boolean;
  /** Explicit data dir; undefined means "pick the default" (see data-dir.ts). */
  dataDir: string | undefined;
  name: string | undefined;
  /** PEM file of extra CA certificates trusted for the hub (HTTPS) and the broker (mqtts). */
  caFile: string | undefined;
  keepaliveS: number;
  sampleMs: number;
  publishMs: number;
  reconnectMaxMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

export type ParsedArgs = { kind: 'run'; config: AgentConfig } | { kind: 'help' } | { kind: 'version' };

export class ConfigError extends Error {}

export const USAGE = `usage: pifleet-agent --hub <url> (--token-file <file> | --token <token>) [--data-dir <dir>] [--name <name>] [--ca <file>]
       [--keepalive <s>] [--sample-interval <ms>] [--publish-interval <ms>] [--reconnect-max <ms>]
       [--log-level debug|info|warn|error]
env: ${Object.values(SOURCES).join(', ')}`;

/** Pure: argv (without node and script) + env → typed config, or ConfigError with a one-line reason. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SOURCES).map((k) => [k, { type: 'string' as const }]));
    ({ values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    // parseArgs messages name the flag, never a value, so they are safe to print.
    throw new ConfigError((e as Error).message.split('\n')[0]);
  }
  if (values['help']) return { kind: 'help' };
  if (values['version']) return { kind: 'version' };

  const given = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
  const raw: Partial<Record<Source, string>> = {};
  for (const [flag, envName] of Object.entries(SOURCES) as [Source, string][]) {
    const v = values[flag] ?? env[envName];
    if (given(v)) raw[flag] = v.trim();
  }
  // The token and its file are one setting: a flag for either overrides the environment for both,
  // and two answers at the same level are a mistake rather than something to pick from silently.
  const flagToken = given(values['token']);
  const flagFile = given(values['token-file']);
  if (flagToken && flagFile) throw new ConfigError('--token and --token-file: give only one of them');
  if (flagToken) delete raw['token-file'];
  else if (flagFile) delete raw['token'];
  else if (raw['token'] !== undefined && raw['token-file'] !== undefined) {
    throw new ConfigError('PIFLEET_TOKEN and PIFLEET_TOKEN_FILE: set only one of them');
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const flag = String(issue.path[0] ?? '');
    // Only the flag and zod's message: a rejected --token value must not be echoed.
    throw new ConfigError(`--${flag} (${SOURCES[flag as Source] ?? ''}): ${issue.message}`);
  }
  const c = r.data;
  return {
    kind: 'run',
    config: {
      hubUrl: c.hub,
      token: c.token,
      tokenFile: c['token-file'],
      tokenInArgs: flagToken,
      dataDir: c['data-dir'],
      name: c.name,
      caFile: c.ca,
      keepaliveS: c.keepalive,
      sampleMs: c['sample-interval'],
      publishMs: c['publish-interval'],
      reconnectMaxMs: c['reconnect-max'],
      logLevel: c['log-level'],
    },
  };
}
