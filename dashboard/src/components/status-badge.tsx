import type { Device } from '../types';
import { ago } from '../format';

export type DeviceStatus = 'online' | 'offline' | 'revoked';

export function deviceStatus(d: Device): DeviceStatus {
  if (d.status === 'revoked') return 'revoked';
  return d.online ? 'online' : 'offline';
}

/**
 * Status as words plus colour (never colour alone), with how long ago the hub last heard from
 * the device. `now` is passed in so a parent ticking clock keeps "3 min ago" current.
 */
export function StatusBadge({ device, now }: { device: Device; now: number }) {
  const s = deviceStatus(device);
  const seen = s === 'online' ? `seen ${ago(device.lastSeenAt, now)}` : `last seen ${ago(device.lastSeenAt, now)}`;
  return (
    <span className="status" data-testid="device-status" data-status={s}>
      <span className={`badge badge-${s}`}>
        <span className="dot" aria-hidden="true" />
        {s}
      </span>
      <span className="muted small">{seen}</span>
    </span>
  );
}
