import type { Command } from 'commander';
import { z } from 'zod';
import { appsTable, planTable, releasesTable, resultLine, scope } from '../apps-format.js';
import { positiveInt } from '../arg-parsers.js';
import { formatComposeErrors, loadCompose } from '../compose-files.js';
import { CliError, HubError, UsageError } from '../errors.js';
import { confirm, isTty } from '../prompt.js';
import {
  AppSummarySchema,
  ApplyAppResultSchema,
  ComposeErrorSchema,
  ReleaseSchema,
  type ApplyAppRequest,
  type ApplyAppResult,
  type RollbackRequest,
} from '../schemas.js';
import { authedClient, type Io } from '../session.js';

interface AppsOptions {
  hub?: string;
  json?: boolean;
  file?: string;
  fleet?: string;
  device?: string;
  name?: string;
  dryRun?: boolean;
  to?: number;
  yes?: boolean;
}

const seg = encodeURIComponent;

/** `--fleet` and `--device` pick the scope of a release: exactly one of them. */
export function applyScope(opts: Pick<AppsOptions, 'fleet' | 'device'>): { fleet: string } | { device: string } {
  if (opts.fleet !== undefined && opts.device !== undefined) throw new UsageError('--fleet and --device exclude each other: a release is for a whole fleet or one device');
  if (opts.fleet !== undefined) return { fleet: opts.fleet };
  if (opts.device !== undefined) return { device: opts.device };
  throw new UsageError('say where to apply it: --fleet <name> or --device <name-or-id>');
}

/**
 * A 400 `invalid_compose` becomes one `file:line: path: message` line per problem on stderr and
 * a failure; any other error passes through unchanged.
 */
export function composeFailure(err: unknown, file: string, io: Io): unknown {
  if (!(err instanceof HubError) || err.code !== 'invalid_compose') return err;
  const parsed = z.array(ComposeErrorSchema).safeParse(err.details);
  if (!parsed.success || parsed.data.length === 0) return err;
  io.stderr.write(formatComposeErrors(file, parsed.data));
  const n = parsed.data.length;
  return new CliError(`${file} is not valid (${n} ${n === 1 ? 'error' : 'errors'}); nothing was applied`);
}

export function registerApps(program: Command, io: Io): void {
  const apps = program
    .command('apps')
    .summary('apply compose apps to a fleet or a device, list, roll back, remove')
    .description(
      'Apps are compose files the hub turns into containers on every device of a fleet (or on one ' +
        'device, as an override). Each apply, rollback or removal is a numbered release.',
    );

  const printResult = (r: ApplyAppResult, json: boolean | undefined, done: string): void => {
    if (json) {
      io.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    io.stdout.write(planTable(r.plan) + '\n' + resultLine(r, done));
  };

  apps
    .command('apply')
    .description(
      'Send a compose file (and every env_file it names, read relative to its directory) to the hub, ' +
        'which validates it, plans the change on each device and creates a release. The plan is ' +
        'printed as DEVICE, APP, SERVICE, CHANGE (create, recreate, remove, unchanged), FIELDS. ' +
        'With --dry-run the hub only validates and plans; nothing changes. A compose file the hub ' +
        'refuses is reported as `file:line: path: message` lines, then exit 1. --json prints the ' +
        "hub's ApplyAppResult {app, fleet, release?, plan, dryRun}.",
    )
    .requiredOption('-f, --file <compose.yml>', 'the compose file')
    .option('--fleet <name>', 'apply to every device of this fleet')
    .option('--device <name-or-id>', 'apply to this device only (an override of the fleet release)')
    .option('--name <app>', "the app's name (default: the compose file's top-level name)")
    .option('--dry-run', 'validate and show the plan; change nothing')
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet apps apply -f compose.yml --fleet default --dry-run\n' +
        '  pifleet apps apply -f compose.yml --fleet default\n' +
        '  pifleet apps apply -f compose.yml --device kitchen-pi --name sensors',
    )
    .action(async (_o: AppsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AppsOptions>();
      const where = applyScope(opts);
      const file = opts.file!;
      const { compose, envFiles } = await loadCompose(file);
      const body: ApplyAppRequest = {
        compose,
        ...where,
        ...(Object.keys(envFiles).length > 0 ? { envFiles } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      };
      const client = await authedClient(io, opts.hub);
      let result: ApplyAppResult;
      try {
        result = await client.request('POST', '/api/apps/apply', ApplyAppResultSchema, body);
      } catch (err) {
        throw composeFailure(err, file, io);
      }
      printResult(result, opts.json, 'Applied');
    });

  apps
    .command('list')
    .description(
      'List apps: NAME, FLEET, RELEASE (the fleet-wide release in force), SERVICES, OVERRIDES (devices ' +
        'with their own release), UPDATED. --json prints an array of {name, fleet, release, services, overrides, updatedAt}.',
    )
    .option('--fleet <name>', 'only apps of this fleet')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet apps list\n  pifleet apps list --fleet default --json')
    .action(async (_o: AppsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AppsOptions>();
      const client = await authedClient(io, opts.hub);
      const qs = opts.fleet === undefined ? '' : `?${new URLSearchParams({ fleet: opts.fleet }).toString()}`;
      const list = await client.request('GET', `/api/apps${qs}`, z.array(AppSummarySchema));
      if (opts.json) io.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else if (list.length === 0) io.stdout.write('No apps.\n');
      else io.stdout.write(appsTable(list, io.now()));
    });

  apps
    .command('releases')
    .description(
      'List the releases of an app in a fleet, newest first: RELEASE, SCOPE (fleet or device), CURRENT ' +
        '(* marks the release in force for its scope), NOTE, BY, CREATED. --json prints the releases ' +
        'with their compose text.',
    )
    .argument('<app>', 'app name')
    .requiredOption('--fleet <name>', 'the fleet of the app')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet apps releases web --fleet default\n  pifleet apps releases web --fleet default --json | jq -r \'.[0].compose\'')
    .action(async (app: string, _o: AppsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AppsOptions>();
      const client = await authedClient(io, opts.hub);
      const list = await client.request('GET', `/api/apps/${seg(opts.fleet!)}/${seg(app)}/releases`, z.array(ReleaseSchema));
      if (opts.json) io.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else if (list.length === 0) io.stdout.write(`No releases of ${app} in fleet ${opts.fleet}.\n`);
      else io.stdout.write(releasesTable(list, io.now()));
    });

  apps
    .command('rollback')
    .description(
      "Put an earlier release's compose file back in force, as a new release (the history keeps both). " +
        "With --device, roll back that device's override instead of the fleet-wide release.",
    )
    .argument('<app>', 'app name')
    .requiredOption('--fleet <name>', 'the fleet of the app')
    .requiredOption('--to <release>', 'the release number to restore', positiveInt)
    .option('--device <name-or-id>', "roll back this device's override")
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet apps rollback web --fleet default --to 3\n  pifleet apps rollback web --fleet default --to 2 --device kitchen-pi')
    .action(async (app: string, _o: AppsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AppsOptions>();
      const client = await authedClient(io, opts.hub);
      const body: RollbackRequest = { release: opts.to!, ...(opts.device !== undefined ? { device: opts.device } : {}) };
      const r = await client.request('POST', `/api/apps/${seg(opts.fleet!)}/${seg(app)}/rollback`, ApplyAppResultSchema, body);
      printResult(r, opts.json, `Rolled back to release ${opts.to}`);
    });

  apps
    .command('rm')
    .description(
      'Remove an app from a fleet (its containers are removed on every device), or with --device from ' +
        'that device only. This is a release too, so it can be rolled back. Asks for confirmation on ' +
        'a terminal; elsewhere --yes is required.',
    )
    .argument('<app>', 'app name')
    .requiredOption('--fleet <name>', 'the fleet of the app')
    .option('--device <name-or-id>', 'remove it from this device only')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet apps rm web --fleet default\n  pifleet apps rm web --fleet default --device kitchen-pi --yes')
    .action(async (app: string, _o: AppsOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AppsOptions>();
      const target = scope({ fleet: opts.fleet!, device: opts.device ?? null });
      const client = await authedClient(io, opts.hub);
      if (!opts.yes) {
        if (!isTty(io.stdin)) throw new UsageError('removing an app needs confirmation: pass --yes when not on a terminal');
        const ok = await confirm(io.stdin, io.stderr, `Remove app ${app} and its containers from ${opts.device === undefined ? `every device of fleet ${opts.fleet}` : `device ${opts.device}`}?`);
        if (!ok) throw new CliError(`aborted: ${app} was not removed from ${target}`);
      }
      const qs = opts.device === undefined ? '' : `?${new URLSearchParams({ device: opts.device }).toString()}`;
      const r = await client.request('DELETE', `/api/apps/${seg(opts.fleet!)}/${seg(app)}${qs}`, ApplyAppResultSchema);
      printResult(r, opts.json, 'Removed');
    });
}
