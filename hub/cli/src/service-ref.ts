import { CliError, UsageError } from './errors.js';
import type { DeviceContainers } from './schemas.js';

/**
 * Naming a service on the command line: `app/service`, or `service` alone when only one app of
 * the device has a service of that name (the CLI looks it up), or `--app` for a whole app.
 */
export interface ServiceTarget {
  app?: string;
  service?: string;
}

/** The protocol's NAME_PATTERN (letters, digits, `.`, `_`, `-`; 63 at most), so a typo fails before any request. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Parses `[app/service | service]` plus `--app`; a bare service comes back without `app`. */
export function parseServiceArg(arg: string | undefined, appFlag: string | undefined): ServiceTarget {
  if (appFlag !== undefined) checkName(appFlag, 'app');
  if (arg === undefined) return appFlag === undefined ? {} : { app: appFlag };
  const parts = arg.split('/');
  if (parts.length > 2) throw new UsageError(`'${arg}' is not a service: use app/service or service`);
  if (parts.length === 2) {
    const [app = '', service = ''] = parts;
    checkName(app, 'app', arg);
    checkName(service, 'service', arg);
    if (appFlag !== undefined && appFlag !== app) throw new UsageError(`--app ${appFlag} contradicts ${arg}`);
    return { app, service };
  }
  checkName(arg, 'service');
  return appFlag === undefined ? { service: arg } : { app: appFlag, service: arg };
}

/**
 * Finds the app of a service named without one, among the services the hub knows on the device.
 * Ambiguity is an error naming the candidates, never a guess: stopping the wrong `db` is worse
 * than typing two more words.
 */
export function resolveApp(service: string, c: DeviceContainers): string {
  const apps = [...new Set(c.services.filter((s) => s.service === service).map((s) => s.app))].sort();
  if (apps.length === 1) return apps[0]!;
  if (apps.length === 0) {
    const known = c.services.map((s) => `${s.app}/${s.service}`);
    const list = known.length === 0 ? 'it has no services' : `it has ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`;
    throw new CliError(`no service '${service}' on ${c.device}; ${list}`);
  }
  throw new CliError(`service '${service}' is in several apps on ${c.device} (${apps.join(', ')}); name one: ${apps.map((a) => `${a}/${service}`).join(' or ')}`);
}

function checkName(name: string, what: string, whole?: string): void {
  if (!NAME.test(name)) {
    const inArg = whole === undefined ? '' : ` in '${whole}'`;
    throw new UsageError(`invalid ${what} name '${name}'${inArg} (letters, digits, '.', '_', '-')`);
  }
}
