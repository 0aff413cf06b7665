import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { within } from './wait.js';

export const AGENT_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** The compiled agent as a real child process, with its stderr JSON log captured line by line. */
export class AgentProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (partial) this.lines.push(partial);
        resolve({ code, signal });
      });
    });
  }

  /** `umask`: the child starts with this umask (it is inherited at fork), as a careless shell would. */
  static spawn(args: string[], env: NodeJS.ProcessEnv = {}, opts: { umask?: number } = {}): AgentProcess {
    // Only what the agent needs: no PIFLEET_* leaking in from the developer's shell.
    const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' };
    const start = (): ChildProcess => spawn(process.execPath, [AGENT_MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (opts.umask === undefined) return new AgentProcess(start());
    // spawn() forks synchronously, so the test's own umask is changed only for that instant.
    const previous = process.umask(opts.umask);
    try {
      return new AgentProcess(start());
    } finally {
      process.umask(previous);
    }
  }

  /** The process arguments as every local user sees them (`ps`, /proc/<pid>/cmdline), NULs as spaces. */
  cmdline(): string {
    return readFileSync(`/proc/${this.child.pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  }

  get stderr(): string {
    return this.lines.join('\n');
  }

  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async exit(ms = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return within(`agent exit (log: ${this.lines.slice(-3).join(' | ')})`, this.exited, ms);
  }

  /** Test cleanup: never leave a child behind, whatever happened in the test. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await within('agent kill', this.exited, 5000).catch(() => undefined);
  }
}
