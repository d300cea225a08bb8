/**
 * Throttles status writes for progress and heartbeat events (hour-long jobs report often; the
 * API server should see at most one progress write per job every progressMs and one heartbeat
 * write every heartbeatMs). A throttled event is not lost: the newest one is kept and written
 * when the window ends (trailing edge). Transitions are never throttled.
 */
import type { JobEvent } from '../../queue/job-events.js';

export interface ThrottleOptions {
  progressMs?: number;
  heartbeatMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (h: unknown) => void;
}

type Throttled = Extract<JobEvent, { type: 'progress' | 'heartbeat' }>;

interface Entry {
  lastProgress: number;
  lastHeartbeat: number;
  pending?: Throttled;
  timer?: unknown;
  timerAt?: number;
}

export class JobEventThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly progressMs: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (h: unknown) => void;

  constructor(
    private readonly onFlush: (key: string, ev: Throttled) => void,
    opts: ThrottleOptions = {},
  ) {
    this.progressMs = opts.progressMs ?? 2000;
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /** True: write now. False: kept (the newest wins) and flushed when its window ends. */
  admit(key: string, ev: Throttled): boolean {
    const e = this.entry(key);
    const now = this.now();
    const isProgress = ev.type === 'progress';
    const last = isProgress ? e.lastProgress : e.lastHeartbeat;
    const window = isProgress ? this.progressMs : this.heartbeatMs;
    if (now - last >= window && !e.pending) return true;
    // A pending progress already carries a newer heartbeat time; a heartbeat never replaces it.
    if (isProgress || !e.pending || e.pending.type === 'heartbeat') e.pending = ev;
    const at = Math.max(now, last + window);
    if (e.timer === undefined || (e.timerAt ?? Infinity) > at) {
      if (e.timer !== undefined) this.clearTimer(e.timer);
      e.timerAt = at;
      e.timer = this.setTimer(() => this.flush(key), at - now);
    }
    return false;
  }

  /** Records a status write (each carries the newest heartbeat time). */
  wrote(key: string, kind: 'progress' | 'heartbeat' | 'transition'): void {
    const e = this.entry(key);
    const now = this.now();
    e.lastHeartbeat = now;
    // A transition's write is fresh status too: the first progress after it waits for the
    // window like any other, so a short job's progress is usually dropped by its own end
    // (forget) instead of costing an API write between Running and Succeeded.
    if (kind !== 'heartbeat') e.lastProgress = now;
  }

  forget(key: string): void {
    const e = this.entries.get(key);
    if (e?.timer !== undefined) this.clearTimer(e.timer);
    this.entries.delete(key);
  }

  stop(): void {
    for (const key of [...this.entries.keys()]) this.forget(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private flush(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.timer = undefined;
    e.timerAt = undefined;
    const ev = e.pending;
    e.pending = undefined;
    if (ev) this.onFlush(key, ev);
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { lastProgress: -Infinity, lastHeartbeat: -Infinity };
      this.entries.set(key, e);
    }
    return e;
  }
}
