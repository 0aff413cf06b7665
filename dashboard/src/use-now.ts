import { useEffect, useState } from 'react';

/** A clock that re-renders every `ms`, so relative times ("3 min ago") stay true on an idle page. */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
