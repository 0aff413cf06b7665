/** Shares the one DeviceStore (one SSE connection) with every page while a user is signed in. */
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { DeviceStore, type DeviceStoreSnapshot, type TapEvent } from './api/device-store';
import type { LiveEventMap } from './types';

const StoreContext = createContext<DeviceStore | null>(null);

export function DeviceStoreProvider({ children }: { children: ReactNode }) {
  const [store] = useState(() => new DeviceStore());
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

function useStore(): DeviceStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useDevices outside DeviceStoreProvider');
  return store;
}

export function useDevices(): DeviceStoreSnapshot {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

/**
 * Calls `handler` with every `name` event of the live stream while the component is mounted.
 * The newest handler is used without resubscribing, so it may close over fresh state.
 */
export function useLiveEvent<K extends TapEvent>(name: K, handler: (v: LiveEventMap[K]) => void): void {
  const store = useStore();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => store.onLive(name, (v) => ref.current(v)), [store, name]);
}
