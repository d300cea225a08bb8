/** Thrown for a resource quantity string Kubernetes would reject. */
export class InvalidQuantityError extends Error {
  constructor(readonly quantity: string) {
    super(`invalid resource quantity ${JSON.stringify(quantity)}`);
    this.name = 'InvalidQuantityError';
  }
}

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/**
 * A Kubernetes quantity ("500m", "2", "32Gi", "1e3") in thousandths of its unit, rounded up
 * like the API server does, so cpu "500m" = 500 and memory "1Ki" = 1_024_000. Integers keep
 * sums exact for the sizes a node has (2^53 milli-bytes is 9 PB).
 */
export function parseQuantityMilli(q: string | number): number {
  if (typeof q === 'number') return Math.ceil(q * 1000);
  const m = QUANTITY.exec(q.trim());
  if (!m) throw new InvalidQuantityError(q);
  const num = Number(m[1]);
  const factor = m[2] ? 10 ** Number(m[2].slice(1)) : SUFFIX[m[3] ?? ''];
  return Math.ceil(num * factor * 1000 - 1e-9);
}

/** Formats thousandths back into a short quantity for messages ("1500m", "2"). */
export function formatMilli(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
