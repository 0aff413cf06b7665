import { readFileSync } from 'node:fs';

export const HIDDEN = '[hidden]';

/**
 * The command line with every `--token <value>` / `--token=<value>` value replaced by HIDDEN,
 * joined with spaces as `ps` shows it. `args` are the agent's own arguments (after the script).
 */
export function commandLineWithoutToken(prefix: readonly string[], args: readonly string[]): string {
  const out = [...prefix];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--token' && i + 1 < args.length) {
      out.push(a, HIDDEN);
      i++;
    } else if (a.startsWith('--token=')) {
      out.push(`--token=${HIDDEN}`);
    } else {
      out.push(a);
    }
  }
  return out.join(' ');
}

/**
 * Removes a `--token` value from this process's arguments as other users see them. Every local
 * user can read /proc/<pid>/cmdline (and so `ps`); /proc/<pid>/environ is the owner's only, which
 * is why PIFLEET_TOKEN and --token-file are the better ways to pass it.
 *
 * On Linux, setting process.title makes libuv write the new title over the original argv memory
 * and zero the rest of it, which is what the kernel serves as cmdline. That costs nothing, where
 * re-executing the agent without the flag would either need a second process (Node has no exec)
 * or a wrapper. process.argv is a copy and is not affected. The title keeps the other arguments
 * so that `ps` still shows which data dir and hub the agent uses. Limits: the token is visible
 * for the moment between exec and this call, and a title longer than the original argv is cut
 * (harmless: everything after the title is zeroed).
 *
 * Returns whether the token is gone from /proc/self/cmdline, or undefined where that cannot be
 * checked (no /proc).
 */
export function hideTokenFromProcessArgs(token: string): boolean | undefined {
  process.title = commandLineWithoutToken([process.argv0, ...process.execArgv, process.argv[1] ?? ''], process.argv.slice(2));
  let cmdline: string;
  try {
    cmdline = readFileSync('/proc/self/cmdline', 'latin1');
  } catch {
    return undefined;
  }
  return !cmdline.includes(token);
}
