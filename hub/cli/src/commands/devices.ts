import type { Command } from 'commander';
import { z } from 'zod';
import { devicesTable, summarize } from '../device-format.js';
import { UsageError } from '../errors.js';
import { DeviceSchema } from '../schemas.js';
import { authedClient, type Io } from '../session.js';

interface DevicesOptions {
  hub?: string;
  json?: boolean;
  fleet?: string;
  tag?: string;
  online?: boolean;
  offline?: boolean;
  q?: string;
}

export function registerDevices(program: Command, io: Io): void {
  program
    .command('devices')
    .summary('list devices')
    .description(
      'List devices as a table (NAME, ID, FLEET, STATUS, LAST SEEN, TAGS), or with --json as an ' +
        'array of {id, name, fleet, online, lastSeenAt, tags, status}: exactly these keys, in this ' +
        'order, so scripts stay stable. status is "active" or "revoked"; lastSeenAt is ISO 8601 or null.',
    )
    .option('--json', 'print JSON for scripts')
    .option('--fleet <name>', 'only devices of this fleet')
    .option('--tag <tag>', 'only devices carrying this tag')
    .option('--online', 'only devices online now')
    .option('--offline', 'only devices offline now')
    .option('-q, --q <text>', 'search names, ids and tags')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet devices\n' +
        '  pifleet devices --fleet default --offline\n' +
        "  pifleet devices --json | jq -r '.[] | select(.online) | .name'",
    )
    .action(async (_opts: DevicesOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DevicesOptions>();
      if (opts.online && opts.offline) throw new UsageError('--online and --offline exclude each other');
      const query = new URLSearchParams();
      if (opts.q !== undefined) query.set('q', opts.q);
      if (opts.tag !== undefined) query.set('tag', opts.tag);
      if (opts.fleet !== undefined) query.set('fleet', opts.fleet);
      if (opts.online) query.set('online', 'true');
      if (opts.offline) query.set('online', 'false');
      const qs = query.toString();
      const client = await authedClient(io, opts.hub);
      const devices = await client.request('GET', `/api/devices${qs ? `?${qs}` : ''}`, z.array(DeviceSchema));
      if (opts.json) {
        io.stdout.write(JSON.stringify(devices.map(summarize), null, 2) + '\n');
      } else if (devices.length === 0) {
        io.stdout.write('No devices.\n');
      } else {
        io.stdout.write(devicesTable(devices, io.now()));
      }
    });
}
