/**
 * One device's containers, kept current from the live stream: fetched once (and again after
 * every reconnect, since the stream's snapshot does not carry them), then replaced by each
 * `containers` event for this device. No polling.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from './api/client';
import { api } from './api/endpoints';
import { useDevices, useLiveEvent } from './devices-context';
import type { DeviceContainers } from './types';

export interface ContainersView {
  data: DeviceContainers | null;
  error: string | null;
  /** Takes a fresher copy the caller got (an action's answer). */
  replace(c: DeviceContainers): void;
}

export function useDeviceContainers(deviceId: string): ContainersView {
  const { session } = useDevices();
  const [data, setData] = useState<DeviceContainers | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Counts live events, so a fetch that was overtaken by one does not put older data back.
  const liveSeen = useRef(0);

  useEffect(() => {
    const ctrl = new AbortController();
    const before = liveSeen.current;
    api.containers(deviceId, ctrl.signal).then(
      (c) => {
        if (liveSeen.current === before) setData(c);
        setError(null);
      },
      (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
    );
    return () => ctrl.abort();
  }, [deviceId, session]);

  useLiveEvent('containers', (c) => {
    if (c.deviceId !== deviceId) return;
    liveSeen.current++;
    setData(c);
    setError(null);
  });

  const replace = useCallback((c: DeviceContainers) => {
    if (c.deviceId === deviceId) setData(c);
  }, [deviceId]);

  return { data, error, replace };
}
