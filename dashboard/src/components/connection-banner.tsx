import { useEffect, useState } from 'react';
import { useDevices } from '../devices-context';

/**
 * Tells the truth about the live link: while the SSE stream is down the device list is stale,
 * and the operator should know before trusting an "online" badge.
 */
export function ConnectionBanner() {
  const { phase, error, retryAt, loaded } = useDevices();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (phase !== 'retrying') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [phase]);

  if (phase === 'live' || (phase === 'connecting' && !loaded)) return null;
  const secs = retryAt ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : 0;
  return (
    <div className="banner banner-warn" role="status" data-testid="connection-banner">
      <strong>Hub unreachable, retrying{phase === 'connecting' ? '…' : ` in ${secs} s…`}</strong>
      {error ? <span className="muted"> ({error})</span> : null}
      {loaded ? <span> Device status below may be out of date.</span> : null}
    </div>
  );
}
