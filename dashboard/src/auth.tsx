/**
 * Who is logged in. The session itself is the HttpOnly cookie; we only learn the user from
 * /api/auth/me at startup or from the login response, and forget it on logout or on any 401.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, onUnauthorized } from './api/client';
import { api } from './api/endpoints';
import type { Role, User } from './types';

type AuthState =
  | { status: 'checking' }
  | { status: 'anonymous'; reason?: string }
  | { status: 'unreachable'; message: string }
  | { status: 'signed-in'; user: User };

interface AuthApi {
  state: AuthState;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  recheck(): void;
}

const AuthContext = createContext<AuthApi | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'checking' });

  const recheck = useCallback(() => {
    setState({ status: 'checking' });
    api.me().then(
      (user) => setState({ status: 'signed-in', user }),
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setState({ status: 'anonymous' });
        else setState({ status: 'unreachable', message: err instanceof Error ? err.message : String(err) });
      },
    );
  }, []);

  useEffect(recheck, [recheck]);

  useEffect(
    () =>
      onUnauthorized(() =>
        setState((s) => (s.status === 'signed-in' ? { status: 'anonymous', reason: 'Your session has ended; please sign in again.' } : s)),
      ),
    [],
  );

  const login = useCallback(async (username: string, password: string) => {
    const res = await api.login(username, password);
    setState({ status: 'signed-in', user: res.user });
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      // Even if the hub is down, drop the local view of the session; the cookie expires anyway.
      setState({ status: 'anonymous' });
    }
  }, []);

  const value = useMemo(() => ({ state, login, logout, recheck }), [state, login, logout, recheck]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Mirrors the hub's role order so the UI hides actions the hub would refuse with 403 anyway. */
export function hasRole(user: User, min: Role): boolean {
  return rank[user.role] >= rank[min];
}

export function useUser(): User {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('useUser needs a signed-in user');
  return state.user;
}
