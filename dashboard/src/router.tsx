/**
 * A tiny History-API router: the app has a handful of pages, which does not justify react-router.
 * The hub serves index.html for unknown non-API paths, so deep links like /devices/pi-3 work.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const listeners = new Set<() => void>();

function subscribe(l: () => void): () => void {
  listeners.add(l);
  window.addEventListener('popstate', l);
  return () => {
    listeners.delete(l);
    window.removeEventListener('popstate', l);
  };
}

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (path === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.scrollTo(0, 0);
  for (const l of listeners) l();
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export type Route =
  | { page: 'overview' }
  | { page: 'device'; idOrName: string }
  | { page: 'tokens' }
  | { page: 'apps'; fleet?: string; app?: string }
  | { page: 'fleet'; name: string }
  | { page: 'not-found'; path: string };

export function matchRoute(path: string): Route {
  if (path === '/' || path === '/devices') return { page: 'overview' };
  if (path === '/tokens') return { page: 'tokens' };
  const m = /^\/devices\/([^/]+)\/?$/.exec(path);
  if (m?.[1]) return { page: 'device', idOrName: decodeURIComponent(m[1]) };
  if (path === '/apps' || path === '/apps/') return { page: 'apps' };
  const a = /^\/apps\/([^/]+)\/([^/]+)\/?$/.exec(path);
  if (a?.[1] && a[2]) return { page: 'apps', fleet: decodeURIComponent(a[1]), app: decodeURIComponent(a[2]) };
  const f = /^\/fleets\/([^/]+)\/?$/.exec(path);
  if (f?.[1]) return { page: 'fleet', name: decodeURIComponent(f[1]) };
  return { page: 'not-found', path };
}

/** An <a> that navigates client-side on a plain left click and behaves normally otherwise. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
