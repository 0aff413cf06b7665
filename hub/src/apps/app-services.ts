import { ParseCache, specFor } from './desired-compute.js';
import type { DesiredRepository } from './desired.repository.js';
import type { DesiredStateService } from './desired-state.service.js';

/**
 * The service names of an app's fleet release, for listings: parsed with the fleet's variables,
 * or, when it needs per-device variables to parse, as the devices' stored states have them.
 */
export async function appServices(
  desired: DesiredStateService,
  repo: DesiredRepository,
  fleetId: string,
  app: string,
  release: { id: string; number: number; compose: string; envFiles: Record<string, string>; removed: boolean },
): Promise<string[]> {
  const fleet = await desired.fleetInputs(repo.db, fleetId);
  const r = specFor(release, app, fleet.vars, fleet.bundles, new ParseCache());
  if (r.ok) return Object.keys(r.spec?.services ?? {}).sort();
  return repo.storedServiceNames(fleetId, app);
}
