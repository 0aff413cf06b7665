import { useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../api/client';
import { useAuth } from '../auth';

export function LoginPage({ notice }: { notice?: string }) {
  const { login } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
    } catch (err) {
      // The hub answers 401 for both unknown user and wrong password, and so do we.
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong username or password.' : describeError(err));
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="panel" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <h1>pifleet</h1>
        <p className="muted">Sign in to manage your Raspberry Pi fleet.</p>
        {notice && <p className="banner banner-warn">{notice}</p>}
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p className="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
