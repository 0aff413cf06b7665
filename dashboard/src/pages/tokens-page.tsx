/**
 * Provisioning tokens (admin only): list, create, revoke. A new token's secret and agent command
 * are shown exactly once, because the hub stores only a hash of the secret.
 */
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { CreatedTokenPanel } from '../components/created-token';
import { TokenForm } from '../components/token-form';
import { TokenTable } from '../components/token-table';
import type { CreatedToken, ProvisioningToken } from '../types';

export function TokensPage() {
  const user = useUser();
  const [tokens, setTokens] = useState<ProvisioningToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedToken | null>(null);

  const reload = useCallback(() => {
    api.tokens().then(
      (t) => (setTokens(t), setError(null)),
      (err: unknown) => setError(describeError(err)),
    );
  }, []);
  const isAdmin = hasRole(user, 'admin');
  useEffect(() => {
    if (isAdmin) reload();
  }, [isAdmin, reload]);

  if (!isAdmin) {
    return (
      <div className="empty">
        <h1>Provisioning tokens</h1>
        <p className="error">Not allowed for your role ({user.role}). Ask an admin to create a token.</p>
      </div>
    );
  }

  const revoke = async (t: ProvisioningToken) => {
    try {
      await api.revokeToken(t.id);
      reload();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <>
      <h1>Provisioning tokens</h1>
      <p className="muted">
        A Pi enrolls once with a token, receives its own credential and never needs the token again. Tokens expire and can be
        limited to a number of devices.
      </p>
      <TokenForm
        onCreated={(t) => {
          setCreated(t);
          reload();
        }}
      />
      {created && <CreatedTokenPanel token={created} onDismiss={() => setCreated(null)} />}
      <section>
        <h2>Tokens</h2>
        {error && <p className="error">{error}</p>}
        {!tokens ? (
          !error && <p className="muted">Loading tokens…</p>
        ) : tokens.length === 0 ? (
          <p className="muted">No tokens yet. Create one above to enroll your first Pi.</p>
        ) : (
          <TokenTable tokens={tokens} onRevoke={(t) => void revoke(t)} />
        )}
      </section>
    </>
  );
}
