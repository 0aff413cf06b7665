import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import type { CreatedToken, Fleet } from '../types';

const TTLS = [
  { label: '1 hour', s: 3600 },
  { label: '24 hours', s: 86400 },
  { label: '7 days', s: 7 * 86400 },
  { label: '30 days', s: 30 * 86400 },
];

export function TokenForm({ onCreated }: { onCreated: (t: CreatedToken) => void }) {
  const [fleets, setFleets] = useState<Fleet[] | null>(null);
  const [fleet, setFleet] = useState('default');
  const [maxUses, setMaxUses] = useState(1);
  const [ttl, setTtl] = useState(86400);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.fleets().then(
      (f) => {
        setFleets(f);
        if (f.length && !f.some((x) => x.name === 'default')) setFleet(f[0]!.name);
      },
      (err: unknown) => setError(`Could not load fleets: ${describeError(err)}`),
    );
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await api.createToken({ fleet, maxUses, ttlSeconds: ttl }));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel token-form" onSubmit={(e) => void submit(e)} data-testid="token-form">
      <h2>New token</h2>
      <label>
        Fleet
        <select value={fleet} onChange={(e) => setFleet(e.target.value)} disabled={!fleets} name="fleet">
          {(fleets ?? [{ name: fleet }]).map((f) => (
            <option key={f.name} value={f.name}>
              {f.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Max devices
        <input type="number" min={1} max={10000} value={maxUses} onChange={(e) => setMaxUses(Math.max(1, Number(e.target.value) || 1))} name="maxUses" />
      </label>
      <label>
        Expires after
        <select value={ttl} onChange={(e) => setTtl(Number(e.target.value))} name="ttl">
          {TTLS.map((t) => (
            <option key={t.s} value={t.s}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={busy || !fleets}>
        {busy ? 'Creating…' : 'Create token'}
      </button>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}
