import type { Command } from 'commander';
import { z } from 'zod';
import { intInRange, positiveInt } from '../arg-parsers.js';
import { servicesTable } from '../containers-format.js';
import { CliError, UsageError } from '../errors.js';
import { historyTable } from '../history-format.js';
import { confirm, isTty } from '../prompt.js';
import { DeviceContainersSchema, ServiceEventSchema, type DeviceContainers, type ServiceAction, type ServiceActionRequest } from '../schemas.js';
import { parseServiceArg, resolveApp, type ServiceTarget } from '../service-ref.js';
import { authedClient, type Io } from '../session.js';
import { devicePath, fetchContainers } from './ps.js';

interface ServiceOptions {
  hub?: string;
  json?: boolean;
  app?: string;
  minutes?: number;
  yes?: boolean;
  limit?: number;
  verbose?: boolean;
}

/** The hub's bounds for a pause (1 minute to a day). */
export const PAUSE_MINUTES = { min: 1, max: 1440 } as const;

const ACTIONS: Record<ServiceAction, { summary: string; detail: string }> = {
  start: { summary: 'start stopped services again', detail: 'Start services (ends an operator stop).' },
  stop: { summary: 'stop services and keep them stopped', detail: 'Stop services and keep them stopped until `service start`, across agent restarts and new releases.' },
  restart: { summary: 'restart services', detail: 'Restart services once (their containers are stopped and started again).' },
  reset: { summary: 'clear FATAL and the failure counts', detail: 'Clear FATAL and forget the failure counts, so the supervisor tries again from the start.' },
  pause: { summary: 'pause automatic restarts for --minutes', detail: 'Pause automatic restarts for --minutes (1 to 1440): a crashing service stays down while you look at it.' },
  resume: { summary: 'resume automatic restarts', detail: 'End a pause of automatic restarts.' },
};

/** `web/api`, `every service of app web`, `every service`. */
export function describeTarget(t: ServiceTarget): string {
  if (t.app !== undefined && t.service !== undefined) return `${t.app}/${t.service}`;
  if (t.app !== undefined) return `every service of app ${t.app}`;
  return 'every service';
}

/** What the hub recorded, in words: the control is in the desired state; the agent acts on it. */
export function actionLine(action: ServiceAction, t: ServiceTarget, c: DeviceContainers, minutes?: number): string {
  const what = action === 'pause' ? `pause of restarts for ${minutes} min` : action === 'resume' ? 'resume of restarts' : action;
  const first = `${what[0]!.toUpperCase()}${what.slice(1)} recorded for ${describeTarget(t)} on ${c.device} (desired version ${c.desiredVersion}).`;
  const then = c.online ? ' The agent acts on it as soon as it gets the new desired state.' : ` ${c.device} is offline: it acts on it when it reconnects.`;
  return first + then + '\n';
}

export function registerService(program: Command, io: Io): void {
  const service = program
    .command('service')
    .summary('start, stop, restart, reset or pause services on a device; restart history')
    .description(
      'Steer the supervisor on one device. The hub records the instruction in the device\'s desired ' +
        'state, so it holds across agent restarts and new releases. Name a service as app/service, ' +
        'or as service alone when only one app has it; --app alone means every service of that app; ' +
        'nothing means every service of the device.',
    );

  for (const action of Object.keys(ACTIONS) as ServiceAction[]) {
    const sub = service
      .command(action)
      .summary(ACTIONS[action].summary)
      .description(
        ACTIONS[action].detail +
          ' Prints the affected services as `pifleet ps` does; --json prints the DeviceContainers the hub answers with.' +
          (action === 'stop' ? ' Stopping every service of a device asks for confirmation on a terminal; elsewhere --yes is required.' : ''),
      )
      .argument('<device>', 'device name or id')
      .argument('[service]', 'app/service, or service alone')
      .option('--app <app>', 'the app (with no service: all of its services)')
      .option('--json', 'print JSON for scripts');
    if (action === 'pause') sub.requiredOption('--minutes <n>', `how long (${PAUSE_MINUTES.min}..${PAUSE_MINUTES.max})`, intInRange(PAUSE_MINUTES.min, PAUSE_MINUTES.max));
    if (action === 'stop') sub.option('-y, --yes', 'do not ask before stopping every service of the device');
    sub
      .addHelpText(
        'after',
        '\nExamples:\n' +
          (action === 'pause'
            ? '  pifleet service pause kitchen-pi web/api --minutes 30\n  pifleet service pause kitchen-pi --app web --minutes 10'
            : `  pifleet service ${action} kitchen-pi web/api\n  pifleet service ${action} kitchen-pi api\n  pifleet service ${action} kitchen-pi --app web` +
              (action === 'stop' ? '\n  pifleet service stop kitchen-pi --yes        (every service of the device)' : '')),
      )
      .action(async (device: string, arg: string | undefined, _o: ServiceOptions, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ServiceOptions>();
        const target = parseServiceArg(arg, opts.app);
        const client = await authedClient(io, opts.hub);
        let current: DeviceContainers | undefined;
        if (target.service !== undefined && target.app === undefined) {
          current = await fetchContainers(client, device);
          target.app = resolveApp(target.service, current);
        }
        if (action === 'stop' && target.app === undefined && !opts.yes) {
          if (!isTty(io.stdin)) throw new UsageError('stopping every service of a device needs confirmation: pass --yes when not on a terminal');
          current ??= await fetchContainers(client, device);
          const n = current.services.length;
          const ok = await confirm(io.stdin, io.stderr, `Stop all ${n} ${n === 1 ? 'service' : 'services'} on ${current.device}?`);
          if (!ok) throw new CliError(`aborted: nothing was stopped on ${current.device}`);
        }
        const body: ServiceActionRequest = {
          action,
          ...(target.app !== undefined ? { app: target.app } : {}),
          ...(target.service !== undefined ? { service: target.service } : {}),
          ...(opts.minutes !== undefined ? { minutes: opts.minutes } : {}),
        };
        const c = await client.request('POST', `${devicePath(device)}/services/action`, DeviceContainersSchema, body);
        if (opts.json) {
          io.stdout.write(JSON.stringify(c, null, 2) + '\n');
          return;
        }
        const affected = c.services.filter((s) => (target.app === undefined || s.app === target.app) && (target.service === undefined || s.service === target.service));
        io.stdout.write(actionLine(action, target, c, opts.minutes) + (affected.length > 0 ? '\n' + servicesTable(affected, c.online, io.now()) : ''));
      });
  }

  service
    .command('history')
    .summary("a service's restart history")
    .description(
      "A service's restart history, newest first: TIME (UTC), CHANGE (from -> to), REASON, EXIT (exit " +
        'code, OOM), RUN (how long the run that ended lasted), RESTARTS, NOTE. --verbose adds the last ' +
        'lines the container wrote before each exit. --json prints the ServiceEvent array.',
    )
    .argument('<device>', 'device name or id')
    .argument('<service>', 'app/service, or service alone')
    .option('--app <app>', 'the app of the service')
    .option('--limit <n>', 'at most this many events (hub default when absent)', positiveInt)
    .option('-v, --verbose', 'show the log tail of each event')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet service history kitchen-pi web/api\n  pifleet service history kitchen-pi api --limit 20 --verbose')
    .action(async (device: string, arg: string, _o: ServiceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ServiceOptions>();
      const target = parseServiceArg(arg, opts.app);
      const client = await authedClient(io, opts.hub);
      const app = target.app ?? resolveApp(target.service!, await fetchContainers(client, device));
      const qs = opts.limit === undefined ? '' : `?limit=${opts.limit}`;
      const path = `${devicePath(device)}/services/${encodeURIComponent(app)}/${encodeURIComponent(target.service!)}/history${qs}`;
      const events = await client.request('GET', path, z.array(ServiceEventSchema));
      if (opts.json) io.stdout.write(JSON.stringify(events, null, 2) + '\n');
      else if (events.length === 0) io.stdout.write(`No history for ${app}/${target.service} on ${device}.\n`);
      else io.stdout.write(historyTable(events, opts.verbose === true));
    });
}
