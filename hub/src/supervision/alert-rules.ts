import type { StateReportedMessage } from '@pifleet/protocol';
import type { AlertKind } from '../contract.js';

/** One condition that warrants an alert; (kind, app, service) is its key on a device. */
export interface AlertCondition {
  kind: AlertKind;
  /** '' for device-wide conditions (engine down, an apply error that names no app). */
  app: string;
  service: string;
  message: string;
}

export const conditionKey = (c: { kind: string; app: string; service: string }): string => `${c.kind}\t${c.app}\t${c.service}`;

/**
 * The alert conditions a reported state shows. An alert is open while its condition is present
 * and resolved once a later report no longer shows it:
 * - crash_loop: the agent flags the service as crash-looping (three crashes without a stable
 *   run); it clears after a stable run (or a reset, or the service going away);
 * - fatal: the service is FATAL (the agent gave up on it); clears when it leaves FATAL;
 * - engine_down: the agent cannot reach its container engine (said by `engine`, or by an apply
 *   error of that code, which is the same trouble and so not also an apply_failed);
 * - apply_failed: the last apply did not finish; clears when the error is gone.
 */
export function alertConditions(r: StateReportedMessage): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const [app, services] of Object.entries(r.apps)) {
    for (const [service, s] of Object.entries(services)) {
      const exit = s.exitCode !== undefined ? `, last exit code ${s.exitCode}` : '';
      const oom = s.oomKilled ? ', killed out of memory' : '';
      if (s.crashLoop) out.push({ kind: 'crash_loop', app, service, message: `${app}/${service} is crash-looping (${s.restarts} restarts${exit}${oom})` });
      if (s.state === 'FATAL') {
        const why = s.message ? `: ${s.message}` : '';
        out.push({ kind: 'fatal', app, service, message: `${app}/${service} is FATAL, automatic restarts stopped (${s.restarts} restarts${exit}${oom})${why}` });
      }
    }
  }
  const engineError = r.error?.code === 'engine_down';
  if (r.engine === 'down' || engineError) {
    out.push({ kind: 'engine_down', app: '', service: '', message: `the container engine is unreachable${engineError ? `: ${r.error!.message}` : ''}` });
  }
  if (r.error && !engineError) {
    const where = r.error.app ? ` (${r.error.app}${r.error.service ? `/${r.error.service}` : ''})` : '';
    out.push({ kind: 'apply_failed', app: r.error.app ?? '', service: r.error.service ?? '', message: `apply failed${where}: ${r.error.code}: ${r.error.message}` });
  }
  return out;
}
