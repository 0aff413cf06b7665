/** Shares the one DeviceStore (one SSE connection) with every page while a user is signed in. */
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { DeviceStore, type DeviceStoreSnapshot } from './api/device-store';

const StoreContext = createContext<DeviceStore | null>(null);

export function DeviceStoreProvider({ children }: { children: ReactNode }) {
  const [store] = useState(() => new DeviceStore());
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useDevices(): DeviceStoreSnapshot {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useDevices outside DeviceStoreProvider');
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
