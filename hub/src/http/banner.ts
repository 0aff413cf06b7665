import type { RunningHub } from './start-hub.js';

/** The human-readable start message (issue #2 item 2): where to go, how to log in, how to enroll. */
export function banner(hub: RunningHub): string {
  const { config, admin } = hub;
  const login =
    admin.source === 'env'
      ? 'admin / the password in PIFLEET_ADMIN_PASSWORD (not echoed: it is yours already)'
      : admin.password
        ? `admin / ${admin.password}   (generated; also in ${admin.file} — delete that file once you have changed or stored it)`
        : `admin / (set on first start; ${admin.file} was removed)`;
  return [
    '',
    `  pifleet hub is ready: ${config.publicUrl}`,
    `  login:   ${login}`,
    `  API docs: ${config.publicUrl}/api/docs`,
    `  devices: MQTT at ${hub.deviceMqttUrl}${config.embeddedBroker ? ' (embedded broker)' : ''}`,
    '',
    '  enroll a device:',
    `    npx pifleet login --hub ${config.publicUrl} --user admin --password-stdin`,
    '    npx pifleet token create --fleet default --json',
    `    npx pifleet-agent --hub ${config.publicUrl} --token <token> --data-dir ./agent-data`,
    '',
  ].join('\n');
}
