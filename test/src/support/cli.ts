import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_MAIN } from './paths.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Written to the CLI's stdin, which is then closed (stdin is never a TTY here). */
  stdin?: string;
  /** Laid over the cleaned environment; set PIFLEET_CONFIG to pick the login the CLI uses. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/**
 * Runs the compiled `pifleet` (hub/cli/dist/main.js) as a child process, exactly as a script
 * would, and collects its exit code and output. PIFLEET_* settings of the test process itself
 * are removed so a developer's own login or hub never leaks into a test.
 */
export function runCli(args: readonly string[], opts: CliRunOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PIFLEET_')) delete env[k];
  // Without an explicit config dir the CLI would read the developer's ~/.config/pifleet.
  const scratch = mkdtempSync(join(tmpdir(), 'pifleet-cli-none-'));
  env['PIFLEET_CONFIG'] = scratch;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      rmSync(scratch, { recursive: true, force: true });
      if (signal !== null) reject(new Error(`pifleet ${args.join(' ')} killed by ${signal}; stderr: ${stderr}`));
      else resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** A fresh, empty `$PIFLEET_CONFIG` directory (the CLI creates config.json in it on login). */
export function newConfigDir(): string {
  return mkdtempSync(join(tmpdir(), 'pifleet-cli-config-'));
}
