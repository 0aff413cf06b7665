import { MAX_PAYLOAD_BYTES, type AppSpec } from '@pifleet/protocol';
import type { ComposeError, PlanEntry } from '../contract.js';
import {
  ParseCache,
  controlsFor,
  groupErrors,
  mergeVars,
  planFor,
  specFor,
  type DesiredBody,
  type DeviceInputs,
  type FleetInputs,
  type ReleaseContent,
} from './desired-compute.js';

/** What a new release would hold. */
export interface ReleaseProposal {
  compose: string;
  envFiles: Record<string, string>;
  removed: boolean;
}

export type ProposalResult =
  | { ok: true; name: string; affected: DeviceInputs[]; plan: PlanEntry[] }
  | { ok: false; message: string; errors: ComposeError[] };

/** Room kept in a message for the envelope and version. */
const ENVELOPE_BYTES = 256;

/**
 * Checks a proposed release against every device it would reach (each with its own variables)
 * and says what it would change there. `devices` are the devices in scope (the fleet's, or the
 * one device of an override); those whose own override decides the app are not affected by a
 * fleet-wide release. Nothing is stored: the caller stores the release if this succeeds.
 */
export function proposeRelease(args: {
  fleet: FleetInputs;
  devices: DeviceInputs[];
  scope: 'fleet' | 'device';
  name?: string;
  proposal: ReleaseProposal;
  number: number;
}): ProposalResult {
  const { fleet, devices, scope, proposal } = args;
  const release: ReleaseContent = { id: `proposed:${args.number}`, number: args.number, ...proposal };
  const cache = new ParseCache();
  let name = args.name;

  if (!proposal.removed) {
    // The app's name may come from the file itself; it decides which devices have an override.
    const probe = devices.length ? devices : [null];
    let parsed = false;
    for (const d of probe) {
      const r = cache.parse(release, name, mergeVars(fleet.vars, d?.vars ?? {}));
      if (r.ok) {
        name ??= r.name ?? undefined;
        parsed = true;
        break;
      }
    }
    if (!parsed) {
      // No device parses it: its errors, by device.
      const perDevice = probe.map((d) => {
        const r = cache.parse(release, args.name, mergeVars(fleet.vars, d?.vars ?? {}));
        return { device: d?.name ?? '', errors: r.ok ? [] : r.errors };
      });
      const errors = devices.length ? groupErrors(perDevice, devices.length) : perDevice[0]!.errors;
      return { ok: false, message: 'the compose file is not valid', errors };
    }
  }
  if (!name) {
    return { ok: false, message: 'the app needs a name', errors: [{ path: 'name', line: null, message: 'give the app a name (the request\'s name or a top-level name in the file)' }] };
  }

  const app = fleet.apps.find((a) => a.name === name);
  const affected = scope === 'fleet' ? devices.filter((d) => !app?.overrides.has(d.id)) : devices;

  if (!proposal.removed && affected.length === 0) {
    // Nothing receives it yet; it must still be valid with the fleet's own variables.
    const r = specFor(release, name, fleet.vars, fleet.bundles, cache);
    if (!r.ok) return { ok: false, message: 'the compose file is not valid with the fleet variables', errors: r.errors };
  }

  const failed: { device: string; errors: ComposeError[] }[] = [];
  const plan: PlanEntry[] = [];
  const tooLarge: string[] = [];
  for (const d of affected) {
    const r = specFor(release, name, mergeVars(fleet.vars, d.vars), fleet.bundles, cache);
    if (!r.ok) {
      failed.push({ device: d.name, errors: r.errors });
      continue;
    }
    plan.push(...planFor(d.name, name, d.stored?.apps[name], r.spec));
    if (r.spec && bytesWith(d, name, r.spec) > MAX_PAYLOAD_BYTES) tooLarge.push(d.name);
  }
  if (failed.length) {
    const names = failed.map((f) => f.device);
    const which = failed.length === affected.length && affected.length > 1 ? 'any device' : `device${names.length > 1 ? 's' : ''} ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
    return { ok: false, message: `the compose file is not valid for ${which}`, errors: groupErrors(failed, affected.length) };
  }
  if (tooLarge.length) {
    return {
      ok: false,
      message: `the desired state would exceed ${MAX_PAYLOAD_BYTES / 1024} KiB for ${tooLarge.slice(0, 5).join(', ')}`,
      errors: [{ path: '', line: null, message: `a device's desired state is sent as one message of at most ${MAX_PAYLOAD_BYTES} bytes` }],
    };
  }
  return { ok: true, name, affected, plan };
}

function bytesWith(d: DeviceInputs, name: string, spec: AppSpec): number {
  const apps = { ...(d.stored?.apps ?? {}), [name]: spec };
  const body: DesiredBody = { apps, controls: controlsFor(apps, d.controls) };
  return Buffer.byteLength(JSON.stringify(body)) + ENVELOPE_BYTES;
}
