/**
 * Capped, jittered exponential backoff. Jitter spreads retries of many clients that failed at the
 * same moment (an API server restart) so they do not come back in lockstep.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay that is randomised: 0 = none, 1 = anywhere in [0, delay]. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 200;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next retry; each call grows the following one until the cap. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * Math.pow(this.factor, this.attempt));
    if (base < this.maxMs) this.attempt++;
    const jittered = base * (1 - this.jitter) + base * this.jitter * this.random();
    return Math.min(this.maxMs, Math.max(0, Math.round(jittered)));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
