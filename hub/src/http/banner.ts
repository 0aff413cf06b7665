import { isAbsolute, relative } from 'node:path';
import type { AdminLogin } from '../users/admin-bootstrap.service.js';
import type { RunningHub } from './start-hub.js';

/** The human-readable start message: where to go, how to log in, how to enroll. */
export function banner(hub: RunningHub): string {
  const { config } = hub;
  return [
    '',
    `  pifleet hub is ready: ${config.publicUrl}`,
    `  login:   ${loginLine(hub.admin)}`,
    `  API docs: ${config.publicUrl}/api/docs`,
    `  devices: MQTT at ${hub.deviceMqttUrl}${config.embeddedBroker ? ' (embedded broker)' : ''}`,
    '',
    '  enroll a device:',
    `    npx pifleet login --hub ${config.publicUrl} --user admin --password-stdin`,
    '    npx pifleet token create --fleet default --json',
    `    PIFLEET_TOKEN=<token> npx pifleet-agent --hub ${config.publicUrl} --data-dir ./agent-data`,
    '',
  ].join('\n');
}

/**
 * A generated password is shown by the start that generated it and never again: start output is
 * kept (scrollback, journald, docker logs), so repeating it on every start spreads the secret.
 */
function loginLine(admin: AdminLogin): string {
  const file = shownPath(admin.file);
  switch (admin.source) {
    case 'env':
      return 'admin / the password in PIFLEET_ADMIN_PASSWORD (not echoed: it is yours already)';
    case 'generated':
      return `admin / ${admin.password ?? ''}   (generated; shown only this once, also in ${file} — delete that file once you have changed or stored it)`;
    case 'file':
      return `admin password: see ${file} (delete it once changed)`;
    case 'unknown':
      return `admin / (set on first start; ${file} was removed)`;
  }
}

/** The file relative to the working directory when it is below it (`data/…`), else absolute. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
