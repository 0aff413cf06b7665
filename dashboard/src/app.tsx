/** Top level: auth gate, then the signed-in shell (nav, live-link banner, routed page). */
import { useAuth, hasRole, useUser } from './auth';
import { DeviceStoreProvider } from './devices-context';
import { ConnectionBanner } from './components/connection-banner';
import { AlertsBanner } from './components/alerts-banner';
import { LoginPage } from './pages/login-page';
import { OverviewPage } from './pages/overview-page';
import { DevicePage } from './pages/device-page';
import { TokensPage } from './pages/tokens-page';
import { AppsPage } from './pages/apps-page';
import { FleetPage } from './pages/fleet-page';
import { Link, matchRoute, usePath } from './router';

export function App() {
  const { state, recheck } = useAuth();
  switch (state.status) {
    case 'checking':
      return <p className="muted center">Connecting to the hub…</p>;
    case 'unreachable':
      return (
        <main className="login">
          <div className="panel">
            <h1>pifleet</h1>
            <p className="error">Hub unreachable: {state.message}</p>
            <button type="button" onClick={recheck}>
              Try again
            </button>
          </div>
        </main>
      );
    case 'anonymous':
      return <LoginPage notice={state.reason} />;
    case 'signed-in':
      // Keyed by user so a different login starts a fresh stream and fresh page state.
      return (
        <DeviceStoreProvider key={state.user.id}>
          <Shell />
        </DeviceStoreProvider>
      );
  }
}

function Shell() {
  const { logout } = useAuth();
  const user = useUser();
  const route = matchRoute(usePath());
  const navClass = (on: boolean) => (on ? 'active' : undefined);
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          pifleet
        </Link>
        <nav>
          <Link href="/" className={navClass(route.page === 'overview' || route.page === 'device' || route.page === 'fleet')}>
            Fleet
          </Link>
          <Link href="/apps" className={navClass(route.page === 'apps')}>
            Apps
          </Link>
          {hasRole(user, 'admin') && (
            <Link href="/tokens" className={navClass(route.page === 'tokens')}>
              Tokens
            </Link>
          )}
        </nav>
        <span className="spacer" />
        <span className="whoami" data-testid="whoami">
          {user.username} <span className="role">{user.role}</span>
        </span>
        <button type="button" onClick={() => void logout()} data-testid="logout">
          Log out
        </button>
      </header>
      <ConnectionBanner />
      <AlertsBanner />
      <main className="content">
        {route.page === 'overview' && <OverviewPage />}
        {route.page === 'device' && <DevicePage key={route.idOrName} idOrName={route.idOrName} />}
        {route.page === 'tokens' && <TokensPage />}
        {route.page === 'apps' && <AppsPage selected={route.fleet && route.app ? { fleet: route.fleet, app: route.app } : undefined} />}
        {route.page === 'fleet' && <FleetPage key={route.name} name={route.name} />}
        {route.page === 'not-found' && (
          <div className="empty">
            <h1>Page not found</h1>
            <p>
              Nothing lives at <span className="mono">{route.path}</span>. <Link href="/">Back to the fleet</Link>
            </p>
          </div>
        )}
      </main>
    </>
  );
}
