import { spawn, type ChildProcess } from 'node:child_process';

/** A child process whose output is kept (bounded) for assertions and failure messages. */
export class Child {
  readonly proc: ChildProcess;
  private out = '';
  private exited: Promise<number | null>;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv, readonly label: string) {
    this.proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-200_000);
      if (process.env['PIFLEET_TEST_VERBOSE']) process.stderr.write(`[${label}] ${d.toString()}`);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends `signal`; waits for exit, escalating to SIGKILL after `graceMs`. Resolves to the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.proc.exitCode;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}

/** Environment for a child: the test's own, minus settings that would leak into the child by accident. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PIFLEET_') || k === 'DATABASE_URL' || k === 'MQTT_URL') delete env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}
