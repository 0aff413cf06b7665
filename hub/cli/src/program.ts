import { Command, CommanderError } from 'commander';
import { registerApps } from './commands/apps.js';
import { registerAudit } from './commands/audit.js';
import { registerDevice } from './commands/device.js';
import { registerDevices } from './commands/devices.js';
import { registerImages } from './commands/images.js';
import { registerLogin } from './commands/login.js';
import { registerPs } from './commands/ps.js';
import { registerService } from './commands/service.js';
import { registerToken } from './commands/token.js';
import { CliError, EXIT, oneLine } from './errors.js';
import type { Io } from './session.js';

export const VERSION = '0.1.0';

/**
 * Builds the command tree. Commander must not print or exit on its own: errors become one
 * `pifleet: …` line and exit code 2 (see run()), help goes to stdout with exit 0.
 */
export function buildProgram(io: Io): Command {
  const program = new Command('pifleet');
  // Inherited by every subcommand created below, so configure before adding them.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      // Commander writes the full help here when a command group is run without a subcommand;
      // run() reports that as one line instead.
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError();

  program
    .description('pifleet: operate a fleet of Raspberry Pis from the command line')
    .version(VERSION, '-V, --version')
    .option('--hub <url>', 'hub URL (overrides PIFLEET_HUB and the stored login)')
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  PIFLEET_CONFIG  directory of the stored login (default ~/.config/pifleet/)\n' +
        '  PIFLEET_HUB     hub URL, like --hub\n' +
        '  PIFLEET_TOKEN   API token to use instead of the stored login (CI)\n' +
        '\nExit codes: 0 ok, 1 hub/network error, 2 usage error, 3 not logged in or login expired.\n' +
        '\nExamples:\n' +
        '  pifleet login --hub http://hub.local:8080 --user admin\n' +
        '  pifleet devices --online\n' +
        '  pifleet token create --fleet default --ttl 1h\n' +
        '  pifleet apps apply -f compose.yml --fleet default --dry-run\n' +
        '  pifleet ps kitchen-pi',
    );

  registerLogin(program, io);
  registerDevices(program, io);
  registerDevice(program, io);
  registerToken(program, io);
  registerApps(program, io);
  registerPs(program, io);
  registerService(program, io);
  registerImages(program, io);
  registerAudit(program, io);
  return program;
}

/** Runs one command line and returns the exit code; never throws and never calls process.exit. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    const { code, message } = describe(err, commandPath(program, argv));
    if (message !== undefined) io.stderr.write(`pifleet: ${oneLine(message)}\n`);
    return code;
  }
}

/** `['device', 'show']` for `pifleet --hub x device show pi`: the commands named on the line. */
function commandPath(program: Command, argv: readonly string[]): string[] {
  const path: string[] = [];
  let cmd = program;
  for (const arg of argv) {
    const next = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (next === undefined) continue;
    path.push(next.name());
    cmd = next;
  }
  return path;
}

function describe(err: unknown, path: string[]): { code: number; message?: string } {
  if (err instanceof CommanderError) {
    // --help and --version end parsing by throwing, with exit code 0.
    if (err.exitCode === 0) return { code: EXIT.ok };
    // A command group run without a subcommand: commander would dump the help on stderr.
    if (err.code === 'commander.help') {
      const name = ['pifleet', ...path].join(' ');
      return { code: EXIT.usage, message: `missing command; see: ${name} --help` };
    }
    return { code: EXIT.usage, message: err.message.replace(/^error: /, '') };
  }
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  // A bug, not a user error: keep the one-line contract but make it recognisable.
  return { code: EXIT.failure, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}
