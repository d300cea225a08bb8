import { useEffect, useState } from 'preact/hooks';
import { store } from './store.js';

/** Re-renders the component on every store change (batched per animation frame by the store). */
export function useStoreVersion(): number {
  const [, set] = useState(0);
  useEffect(() => store.subscribe(() => set(store.version)), []);
  return store.version;
}

/** A local clock for ages and durations; it moves the view, it never asks the server. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
