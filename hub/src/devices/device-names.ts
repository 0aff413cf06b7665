import { NAME_PATTERN } from '@pifleet/protocol';

/**
 * The name a new device starts with: the requested one, else its hostname made to fit
 * NAME_PATTERN, else `pi-<id prefix>`. Kept short enough for a `-NN` suffix on a clash.
 */
export function baseName(deviceId: string, requested?: string, hostname?: string): string {
  for (const candidate of [requested, hostname && sanitize(hostname)]) {
    if (candidate && NAME_PATTERN.test(candidate)) return candidate.slice(0, 56);
  }
  return `pi-${deviceId.slice(0, 6)}`;
}

function sanitize(hostname: string): string {
  return hostname
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 56);
}
