/**
 * Apps: the list (every fleet), the apply form for operators, and for the app in the URL
 * (/apps/:fleet/:app) its releases with rollback.
 */
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { ApplyForm, type ApplyDraft } from '../components/apply-form';
import { AppsTable, appHref } from '../components/apps-table';
import { ReleasesPanel } from '../components/releases-panel';
import { navigate } from '../router';
import type { AppSummary } from '../types';

export function AppsPage({ selected }: { selected?: { fleet: string; app: string } }) {
  const user = useUser();
  const [apps, setApps] = useState<AppSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A new draft remounts the form with a release's content ("Edit as new").
  const [draft, setDraft] = useState<{ n: number; d?: ApplyDraft }>({ n: 0 });
  const [applied, setApplied] = useState(0);

  const reload = useCallback((signal?: AbortSignal) => {
    api.apps(undefined, signal).then(
      (a) => (setApps(a), setError(null)),
      (err: unknown) => !signal?.aborted && setError(describeError(err)),
    );
  }, []);
  useEffect(() => {
    const ctrl = new AbortController();
    reload(ctrl.signal);
    return () => ctrl.abort();
  }, [reload]);

  const sorted = apps ? [...apps].sort((a, b) => a.fleet.localeCompare(b.fleet) || a.name.localeCompare(b.name)) : null;
  return (
    <>
      <h1>Apps</h1>
      <p className="muted">
        An app is a compose file applied to a fleet (every device in it) or to one device (an override). Each apply is a numbered
        release; devices converge to the current one.
      </p>
      {hasRole(user, 'operator') ? (
        <ApplyForm
          key={draft.n}
          draft={draft.d}
          onApplied={(r) => {
            reload();
            setApplied((n) => n + 1);
            navigate(appHref({ fleet: r.fleet, name: r.app }));
          }}
        />
      ) : (
        <p className="muted small">Your role ({user.role}) can see apps but not apply or roll them back.</p>
      )}
      <section>
        <h2>All apps</h2>
        {error && <p className="error">Could not load apps: {error}</p>}
        {!sorted ? (
          !error && <p className="muted">Loading apps…</p>
        ) : sorted.length === 0 ? (
          <p className="muted" data-testid="no-apps">
            No apps yet.
          </p>
        ) : (
          <AppsTable apps={sorted} selected={selected ? appHref({ fleet: selected.fleet, name: selected.app }) : undefined} />
        )}
      </section>
      {selected && (
        <ReleasesPanel
          key={`${selected.fleet}/${selected.app}`}
          fleet={selected.fleet}
          app={selected.app}
          refresh={applied}
          onChanged={() => reload()}
          onEdit={(d) => {
            setDraft((cur) => ({ n: cur.n + 1, d }));
            window.scrollTo(0, 0);
          }}
        />
      )}
    </>
  );
}
