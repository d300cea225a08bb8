export type FaultStatus = 422 | 429 | 500;

export interface FailNextOptions {
  /** How many matching requests fail. */
  count: number;
  /** 429 (with Retry-After), 500, or 422 (an Invalid Status, as for a value the schema refuses). */
  status?: FaultStatus;
  /** Only requests whose path matches (a RegExp or its source). */
  path?: string | RegExp;
  /** Only this Kubernetes verb (get, list, watch, create, update, patch, delete) or HTTP method. */
  verb?: string;
  /** Only requests whose body matches (a RegExp or its source), e.g. one status transition. */
  body?: string | RegExp;
  retryAfterSeconds?: number;
}

export interface ExpireWatchesOptions {
  /** How many subsequent watch requests get 410 (default 1). */
  count?: number;
  /** 'event': HTTP 200 then an ERROR event with a 410 Status (default); 'status': HTTP 410. */
  mode?: 'event' | 'status';
}

export interface FaultSwitches {
  failNext(opts: FailNextOptions): void;
  /** Adds latency to every matching request (0 removes it). */
  setLatency(ms: number, path?: string | RegExp): void;
  /** Ends every open watch stream now; returns how many were dropped. */
  dropWatches(): number;
  /** Compacts the event log and makes the next watches fail with 410 Expired. */
  expireWatches(opts?: ExpireWatchesOptions): void;
  reset(): void;
}

interface FailRule {
  remaining: number;
  status: FaultStatus;
  path?: RegExp;
  verb?: string;
  body?: RegExp;
  retryAfterSeconds: number;
}

export interface FaultDecision {
  fail?: { status: FaultStatus; retryAfterSeconds: number };
  latencyMs: number;
}

function toRegExp(p: string | RegExp | undefined): RegExp | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'string' ? new RegExp(p) : p;
}

/** Fault injection state shared by the HTTP layer and tests. */
export class FaultState implements FaultSwitches {
  private rules: FailRule[] = [];
  private latency: { ms: number; path?: RegExp } = { ms: 0 };
  private expireCount = 0;
  private expireMode: 'event' | 'status' = 'event';

  constructor(
    private readonly dropAll: () => number,
    private readonly compact: () => void,
  ) {}

  failNext(opts: FailNextOptions): void {
    this.rules.push({
      remaining: opts.count,
      status: opts.status ?? 500,
      path: toRegExp(opts.path),
      verb: opts.verb?.toLowerCase(),
      body: toRegExp(opts.body),
      retryAfterSeconds: opts.retryAfterSeconds ?? 1,
    });
  }

  setLatency(ms: number, path?: string | RegExp): void {
    this.latency = { ms, path: toRegExp(path) };
  }

  dropWatches(): number {
    return this.dropAll();
  }

  expireWatches(opts: ExpireWatchesOptions = {}): void {
    this.compact();
    this.expireCount = opts.count ?? 1;
    this.expireMode = opts.mode ?? 'event';
  }

  reset(): void {
    this.rules = [];
    this.latency = { ms: 0 };
    this.expireCount = 0;
  }

  /** What to do with one request. */
  decide(path: string, verb: string, method: string, body = ''): FaultDecision {
    const latencyMs = this.latency.ms > 0 && (!this.latency.path || this.latency.path.test(path)) ? this.latency.ms : 0;
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.path && !r.path.test(path)) continue;
      if (r.verb && r.verb !== verb && r.verb !== method.toLowerCase()) continue;
      if (r.body && !r.body.test(body)) continue;
      r.remaining--;
      this.rules = this.rules.filter((x) => x.remaining > 0);
      return { fail: { status: r.status, retryAfterSeconds: r.retryAfterSeconds }, latencyMs };
    }
    return { latencyMs };
  }

  /** Consumes one forced expiry for a watch request, if any. */
  takeExpiry(): 'event' | 'status' | undefined {
    if (this.expireCount <= 0) return undefined;
    this.expireCount--;
    return this.expireMode;
  }

  /** Applies a JSON command from POST /_sandbox/faults. */
  command(body: any): unknown {
    switch (body?.action) {
      case 'failNext':
        this.failNext(body);
        return { ok: true };
      case 'latency':
        this.setLatency(Number(body.ms ?? 0), body.path);
        return { ok: true };
      case 'dropWatches':
        return { ok: true, dropped: this.dropWatches() };
      case 'expireWatches':
        this.expireWatches(body);
        return { ok: true };
      case 'reset':
        this.reset();
        return { ok: true };
      default:
        throw new Error(`unknown fault action ${String(body?.action)}; use failNext, latency, dropWatches, expireWatches or reset`);
    }
  }
}
