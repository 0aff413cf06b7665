import type { Command } from 'commander';
import { AuthError, UsageError } from '../errors.js';
import { HubClient } from '../http-client.js';
import { isTty, promptHidden, promptLine, readSecretFromStdin } from '../prompt.js';
import { LoginResponseSchema } from '../schemas.js';
import { pickHub, storeFor, type Io } from '../session.js';

interface LoginOptions {
  hub?: string;
  user?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command, io: Io): void {
  program
    .command('login')
    .summary('log in to a hub and remember the login')
    .description(
      'Log in to a hub with a user name and password and store a 30-day CLI token in ' +
        '$PIFLEET_CONFIG/config.json (default ~/.config/pifleet/, file mode 0600). ' +
        'Without --password-stdin the password is prompted for on the terminal, without echo.',
    )
    .option('-u, --user <name>', 'user name (prompted for on a terminal when absent)')
    .option('--password-stdin', 'read the password from stdin (for scripts; keeps it out of argv and history)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet login --hub http://hub.local:8080 --user admin\n' +
        '  printf %s "$PASSWORD" | pifleet login --hub https://hub.example --user ci --password-stdin',
    )
    .action(async (_opts: LoginOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<LoginOptions>();
      const store = storeFor(io);
      const hub = pickHub(opts.hub, io.env, await store.load().catch(() => undefined));
      if (hub === undefined) throw new UsageError('login needs --hub <url> (or PIFLEET_HUB)');
      const tty = isTty(io.stdin);
      let username = opts.user;
      if (username === undefined) {
        if (!tty || opts.passwordStdin) throw new UsageError('login needs --user <name>');
        username = await promptLine(io.stdin, io.stderr, 'User: ');
      }
      let password: string;
      if (opts.passwordStdin) password = await readSecretFromStdin(io.stdin);
      else if (tty) password = await promptHidden(io.stdin as NodeJS.ReadStream, io.stderr, 'Password: ');
      else throw new UsageError('stdin is not a terminal: pass the password with --password-stdin');

      const client = new HubClient(hub, undefined, io.fetch);
      const res = await client.request('POST', '/api/auth/login', LoginResponseSchema, {
        username,
        password,
        kind: 'cli',
      });
      await store.save({ hub: client.hub, token: res.token, user: res.user.username, expiresAt: res.expiresAt });
      io.stdout.write(`Logged in to ${client.hub} as ${res.user.username} (${res.user.role}); login valid until ${res.expiresAt}\n`);
    });

  program
    .command('logout')
    .summary('revoke the stored login and forget it')
    .description(
      'Revoke the stored CLI token on the hub and delete $PIFLEET_CONFIG/config.json. ' +
        'The local file is removed even when the hub cannot be reached (a warning says so).',
    )
    .addHelpText('after', '\nExample:\n  pifleet logout')
    .action(async () => {
      const store = storeFor(io);
      const stored = await store.load().catch(() => undefined);
      if (stored === undefined) {
        await store.clear();
        io.stdout.write('Not logged in.\n');
        return;
      }
      try {
        await new HubClient(stored.hub, stored.token, io.fetch).call('POST', '/api/auth/logout');
      } catch (err) {
        // An expired token is already useless; anything else means it may still be valid there.
        if (!(err instanceof AuthError)) {
          io.stderr.write(`pifleet: warning: could not revoke the token on the hub (${(err as Error).message})\n`);
        }
      }
      await store.clear();
      io.stdout.write(`Logged out of ${stored.hub}.\n`);
    });
}
