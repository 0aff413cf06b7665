import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child, cleanEnv } from './child.js';
import { AGENT_MAIN, tempDir } from './paths.js';

export interface AgentOptions {
  hubUrl: string;
  token?: string;
  dataDir?: string;
  name?: string;
  /** MQTT keepalive in seconds; small in tests so a killed agent is declared dead quickly. */
  keepalive?: number;
  sampleMs?: number;
  publishMs?: number;
  /** Extra environment, e.g. DOCKER_HOST for the container engine the agent supervises with. */
  env?: Record<string, string>;
}

/** A real `pifleet-agent` process, as it runs on a Pi (minus the container). */
export class AgentProcess {
  child?: Child;
  readonly dataDir: string;

  constructor(readonly opts: AgentOptions) {
    this.dataDir = opts.dataDir ?? tempDir('agent');
  }

  start(extraArgs: string[] = []): this {
    const args = [AGENT_MAIN, '--hub', this.opts.hubUrl, '--data-dir', this.dataDir];
    if (this.opts.token) args.push('--token', this.opts.token);
    if (this.opts.name) args.push('--name', this.opts.name);
    args.push('--keepalive', String(this.opts.keepalive ?? 2));
    args.push('--sample-interval', String(this.opts.sampleMs ?? 1000));
    args.push('--publish-interval', String(this.opts.publishMs ?? 2000));
    this.child = new Child(process.execPath, [...args, ...extraArgs], cleanEnv(this.opts.env ?? {}), 'agent');
    return this;
  }

  /** The identity the agent stored after enrolling (device id, MQTT credential). */
  identity(): { deviceId: string; name: string; mqtt: { url: string; username: string; password: string; clientId: string } } {
    return JSON.parse(readFileSync(join(this.dataDir, 'identity.json'), 'utf8'));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return (await this.child?.stop(signal)) ?? null;
  }
}
