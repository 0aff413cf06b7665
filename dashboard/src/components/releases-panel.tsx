/**
 * The releases of one app in one fleet, newest first (fleet-wide and per-device overrides), each
 * with its compose file; operators can roll back to an earlier one after confirming, which
 * creates a new release with that content.
 */
import { Fragment, useCallback, useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { dateTime } from '../format';
import type { ApplyAppResult, Release } from '../types';
import type { ApplyDraft } from './apply-form';
import { PlanTable } from './plan-table';

export function ReleasesPanel({
  fleet,
  app,
  refresh,
  onChanged,
  onEdit,
}: {
  fleet: string;
  app: string;
  /** Bumped by the page when it created a release here, so the list is read again. */
  refresh: number;
  onChanged: () => void;
  onEdit: (d: ApplyDraft) => void;
}) {
  const user = useUser();
  const canAct = hasRole(user, 'operator');
  const [releases, setReleases] = useState<Release[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<Release | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ApplyAppResult | null>(null);

  const load = useCallback(
    (signal?: AbortSignal) =>
      api.releases(fleet, app, signal).then(
        (r) => (setReleases(r), setError(null)),
        (err: unknown) => !signal?.aborted && setError(describeError(err)),
      ),
    [fleet, app],
  );
  useEffect(() => {
    const ctrl = new AbortController();
    void load(ctrl.signal);
    return () => ctrl.abort();
  }, [load, refresh]);

  const rollback = async (r: Release) => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.rollback(fleet, app, { release: r.number, ...(r.device ? { device: r.device } : {}) }));
      setConfirming(null);
      onChanged();
      await load();
    } catch (err) {
      setError(`Rollback failed: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const scope = (r: Release) => (r.device ? `device ${r.device}` : `fleet ${r.fleet}`);
  return (
    <section className="panel releases" data-testid="releases">
      <h2>
        Releases of {app} in {fleet}
      </h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!releases ? (
        !error && <p className="muted">Loading releases…</p>
      ) : releases.length === 0 ? (
        <p className="muted">No releases.</p>
      ) : (
        <table data-testid="releases-table">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Scope</th>
              <th>Created</th>
              <th>By</th>
              <th>Note</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => {
              const key = `${r.device ?? ''}/${r.number}`;
              return (
              <Fragment key={key}>
                <tr data-testid={`release-${r.number}`} className={r.current ? 'current' : undefined}>
                  <td className="num">#{r.number}</td>
                  <td>{r.device ? <span className="chip">{r.device}</span> : 'fleet-wide'}</td>
                  <td>{dateTime(r.createdAt)}</td>
                  <td>{r.createdBy ?? '—'}</td>
                  <td>
                    {r.current && <span className="badge badge-online">current</span>} {r.removed && <span className="badge">removes the app</span>}{' '}
                    {r.rollbackOf !== null && <span className="muted small">rollback to #{r.rollbackOf}</span>}
                  </td>
                  <td>
                    <span className="row-actions">
                    <button type="button" className="small" onClick={() => setViewing(viewing === key ? null : key)} aria-expanded={viewing === key}>
                      {viewing === key ? 'Hide' : 'View'} compose
                    </button>
                    {canAct && !r.removed && (
                      <button type="button" className="small" onClick={() => onEdit({ compose: r.compose, name: app, fleet: r.fleet, device: r.device })}>
                        Edit as new
                      </button>
                    )}
                    {canAct && !r.current && !r.removed && (
                      <button type="button" className="small" onClick={() => (setConfirming(r), setResult(null))}>
                        Roll back to #{r.number}
                      </button>
                    )}
                    </span>
                  </td>
                </tr>
                {confirming === r && (
                  <tr>
                    <td colSpan={6}>
                      <div className="confirm" role="alertdialog" aria-label="Confirm rollback">
                        <p>
                          Roll <strong>{app}</strong> back to release #{r.number} for {scope(r)}? A new release with its content is
                          created and every affected device converges to it.
                        </p>
                        <button type="button" className="danger" disabled={busy} onClick={() => void rollback(r)}>
                          Yes, roll back to #{r.number}
                        </button>{' '}
                        <button type="button" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </div>
                    </td>
                  </tr>
                )}
                {viewing === key && (
                  <tr className="log-row">
                    <td colSpan={6}>
                      <pre className="compose-view" data-testid="release-compose">
                        {r.compose}
                      </pre>
                    </td>
                  </tr>
                )}
              </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {result && (
        <div className="apply-result" data-testid="rollback-result">
          <p className="ok" role="status">
            Rolled back: release <strong>#{result.release?.number}</strong> created.
          </p>
          <PlanTable plan={result.plan} />
        </div>
      )}
    </section>
  );
}
