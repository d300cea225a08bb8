import { useEffect, useRef, useState } from 'preact/hooks';
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

/**
 * `value`, but changing at most once per `ms`: charts over every job need not be recomputed on
 * each batch of progress updates (the list does; a chart a second behind is not).
 */
export function useThrottled<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = last.current + ms - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      setShown(value);
      return;
    }
    const t = setTimeout(() => {
      last.current = Date.now();
      setShown(value);
    }, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return shown;
}
