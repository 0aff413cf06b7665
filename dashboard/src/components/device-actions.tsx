/**
 * What an operator can change on a device. Buttons are shown by role (mirroring the hub's rules)
 * but the hub is the authority: a 403 still surfaces as "not allowed for your role".
 */
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { navigate } from '../router';
import type { Device } from '../types';
import { TagEditor } from './tag-editor';
import { TagChips } from './tag-chips';

// Same rule as the protocol's NAME_PATTERN; checked here only to explain the error early.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function DeviceActions({ device, onChanged }: { device: Device; onChanged: (d: Device) => void }) {
  const user = useUser();
  const canEdit = hasRole(user, 'operator') && device.status !== 'revoked';
  const [name, setName] = useState(device.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  // Follow renames made elsewhere (another tab, the CLI) that arrive over the live stream.
  useEffect(() => setName(device.name), [device.name]);

  const run = async (action: () => Promise<Device>) => {
    setBusy(true);
    setError(null);
    try {
      const d = await action();
      onChanged(d);
      return d;
    } catch (err) {
      setError(describeError(err));
      return null;
    } finally {
      setBusy(false);
    }
  };

  const rename = async (e: FormEvent) => {
    e.preventDefault();
    const next = name.trim();
    if (next === device.name) return;
    if (!NAME_PATTERN.test(next)) return setError('Names use letters, digits, ".", "_" and "-", up to 63 characters, starting with a letter or digit.');
    const d = await run(() => api.updateDevice(device.id, { name: next }));
    if (d) navigate(`/devices/${encodeURIComponent(d.name)}`, { replace: true });
  };

  return (
    <section className="panel">
      <h2>Tags</h2>
      {canEdit ? (
        <TagEditor tags={device.tags} busy={busy} onSave={(tags) => void run(() => api.updateDevice(device.id, { tags }))} />
      ) : (
        <TagChips tags={device.tags} />
      )}
      {canEdit && (
        <>
          <h2>Rename</h2>
          <form className="inline-form" onSubmit={(e) => void rename(e)}>
            <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Device name" maxLength={63} />
            <button type="submit" disabled={busy || name.trim() === device.name}>
              Rename
            </button>
          </form>
        </>
      )}
      {hasRole(user, 'admin') && device.status !== 'revoked' && (
        <>
          <h2>Revoke</h2>
          {!confirming ? (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Revoke device…
            </button>
          ) : (
            <div className="confirm" role="alertdialog" aria-label="Confirm revocation">
              <p>
                Revoke <strong>{device.name}</strong>? It is disconnected at once and its credential is refused from now on.
                This cannot be undone; the Pi would need a new provisioning token.
              </p>
              <button type="button" className="danger" disabled={busy} onClick={() => void run(() => api.revokeDevice(device.id)).then(() => setConfirming(false))}>
                Yes, revoke {device.name}
              </button>{' '}
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          )}
        </>
      )}
      {device.status === 'revoked' && <p className="revoked-note">Revoked: disconnected, and its credential is refused. Tags and name are kept for the record.</p>}
      {!hasRole(user, 'operator') && <p className="muted small">Your role ({user.role}) can view devices but not change them.</p>}
      {error && <p className="error" role="alert">{error}</p>}
    </section>
  );
}
