import type { Command } from 'commander';
import { containersView } from '../containers-format.js';
import { DeviceContainersSchema, type DeviceContainers } from '../schemas.js';
import { authedClient, type Io } from '../session.js';
import type { HubClient } from '../http-client.js';

interface PsOptions {
  hub?: string;
  json?: boolean;
}

/** The hub resolves ids and names itself; the CLI only escapes them. */
export const devicePath = (ref: string): string => `/api/devices/${encodeURIComponent(ref)}`;

export function fetchContainers(client: HubClient, device: string): Promise<DeviceContainers> {
  return client.request('GET', `${devicePath(device)}/containers`, DeviceContainersSchema);
}

export function registerPs(program: Command, io: Io): void {
  program
    .command('ps')
    .summary("show a device's containers and their supervision state")
    .description(
      'Show what runs on a device: a header with the desired, reported and applied versions of its ' +
        'desired state, whether the agent reaches its container engine and the last apply error; ' +
        'then one row per service: APP, SERVICE, STATE (UNKNOWN while the device is offline), ' +
        'UPTIME, RESTARTS, LAST EXIT (exit code, OOM when the kernel killed it), HEALTH, NOTES ' +
        "(operator stop or pause, crash loop, next start, pull progress, the agent's message). " +
        "--json prints the hub's DeviceContainers object.",
    )
    .argument('<device>', 'device name or id')
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet ps kitchen-pi\n' +
        "  pifleet ps kitchen-pi --json | jq -r '.services[] | select(.crashLoop) | .service'",
    )
    .action(async (device: string, _o: PsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<PsOptions>();
      const client = await authedClient(io, opts.hub);
      const c = await fetchContainers(client, device);
      io.stdout.write(opts.json ? JSON.stringify(c, null, 2) + '\n' : containersView(c, io.now()));
    });
}
