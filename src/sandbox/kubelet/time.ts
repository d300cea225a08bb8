/** RFC 3339 with second precision, as metav1.Time serialises. */
export function kubeNow(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Milliseconds since epoch of a timestamp that may come as a Date (typed client) or a string (raw JSON). */
export function timeMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
