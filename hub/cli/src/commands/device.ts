import type { Command } from 'commander';
import { deviceDetails, summarize } from '../device-format.js';
import { CliError, UsageError } from '../errors.js';
import { confirm, isTty } from '../prompt.js';
import { DeviceSchema, type Device } from '../schemas.js';
import { authedClient, type Io } from '../session.js';
import { parseTagArgs } from '../tag-args.js';

interface DeviceOptions {
  hub?: string;
  json?: boolean;
  clear?: boolean;
  yes?: boolean;
}

/** The hub resolves ids and names itself (`/api/devices/:idOrName`); the CLI only escapes them. */
const devicePath = (ref: string): string => `/api/devices/${encodeURIComponent(ref)}`;

export function registerDevice(program: Command, io: Io): void {
  const device = program
    .command('device')
    .summary('show, rename, tag or revoke one device')
    .description('Act on one device, named by its name or its id.');

  const print = (d: Device, json: boolean | undefined): void => {
    io.stdout.write(json ? JSON.stringify(summarize(d), null, 2) + '\n' : deviceDetails(d, io.now()));
  };

  device
    .command('show')
    .description('Show one device. --json prints the same object as one element of `devices --json`.')
    .argument('<name-or-id>', 'device name or id')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet device show kitchen-pi\n  pifleet device show 3f9k2m8q1a7z --json')
    .action(async (ref: string, _o: DeviceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DeviceOptions>();
      const client = await authedClient(io, opts.hub);
      print(await client.request('GET', devicePath(ref), DeviceSchema), opts.json);
    });

  device
    .command('rename')
    .description('Give a device a new name (letters, digits, ".", "_", "-"; unique in the hub).')
    .argument('<name-or-id>', 'device name or id')
    .argument('<new-name>', 'the new name')
    .option('--json', 'print the renamed device as JSON')
    .addHelpText('after', '\nExample:\n  pifleet device rename raspberrypi kitchen-pi')
    .action(async (ref: string, name: string, _o: DeviceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DeviceOptions>();
      const client = await authedClient(io, opts.hub);
      print(await client.request('PATCH', devicePath(ref), DeviceSchema, { name }), opts.json);
    });

  device
    .command('tag')
    .description(
      'Change the tags of a device: +tag or a bare tag adds it, -tag removes it, other tags stay. ' +
        'With --clear the listed tags replace the whole set (--clear alone removes every tag).',
    )
    .argument('<name-or-id>', 'device name or id')
    .argument('[changes...]', '+tag / tag to add, -tag to remove')
    .option('--clear', 'replace all tags with the ones listed')
    .option('--json', 'print the updated device as JSON')
    // `-old` must reach the action as an argument, not be rejected as an unknown option.
    .allowUnknownOption()
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet device tag kitchen-pi +sensors +floor:1 -testing\n' +
        '  pifleet device tag kitchen-pi --clear production\n' +
        '  pifleet device tag kitchen-pi -- -testing     (after --, every -tag is a removal)',
    )
    .action(async (ref: string, changes: string[], _o: DeviceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DeviceOptions>();
      const body = parseTagArgs(changes, opts.clear === true);
      const client = await authedClient(io, opts.hub);
      print(await client.request('PATCH', devicePath(ref), DeviceSchema, body), opts.json);
    });

  device
    .command('revoke')
    .description(
      'Revoke a device: it is disconnected from the broker at once and its credential is refused ' +
        'from then on; it must enroll again with a new token. Asks for confirmation on a terminal; ' +
        'elsewhere --yes is required.',
    )
    .argument('<name-or-id>', 'device name or id')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the revoked device as JSON')
    .addHelpText('after', '\nExamples:\n  pifleet device revoke kitchen-pi\n  pifleet device revoke 3f9k2m8q1a7z --yes')
    .action(async (ref: string, _o: DeviceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DeviceOptions>();
      const client = await authedClient(io, opts.hub);
      let target = ref;
      if (!opts.yes) {
        if (!isTty(io.stdin)) throw new UsageError('revoking needs confirmation: pass --yes when not on a terminal');
        // Look the device up first so the question names what will be revoked (and a typo fails here).
        const d = await client.request('GET', devicePath(ref), DeviceSchema);
        const ok = await confirm(io.stdin, io.stderr, `Revoke device ${d.name} (${d.id}) in fleet ${d.fleet}?`);
        if (!ok) throw new CliError(`aborted: ${d.name} was not revoked`);
        target = d.id;
      }
      print(await client.request('POST', `${devicePath(target)}/revoke`, DeviceSchema), opts.json);
    });
}
