import type { Clock } from '../lib/clock.js';

export interface Progress {
  percent: number;
  message: string;
}

/** A progress report and when the agent read it (for the grace-period estimate). */
export interface ProgressReading extends Progress {
  at: number;
}

/**
 * Rate-limits one attempt's progress events: the algorithm may rewrite its progress file many
 * times a second, but the controller patches the VisionJob status per event. The first report
 * goes out at once, later ones at most every `minIntervalMs` (the newest wins), and flush()
 * sends the last one that is still unsent when the attempt ends.
 */
export class ProgressThrottle {
  private latestReading?: ProgressReading;
  private lastSentAt = 0;
  private seq = 0;
  private pending?: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly minIntervalMs: number,
    private readonly send: (p: Progress, seq: number) => void,
  ) {}

  /** The newest report, sent or not. */
  get latest(): ProgressReading | undefined {
    return this.latestReading;
  }

  report(p: Progress): void {
    this.latestReading = { ...p, at: this.clock.now() };
    const wait = this.lastSentAt + this.minIntervalMs - this.clock.now();
    if (wait <= 0) this.sendLatest();
    else this.pending ??= this.clock.setTimeout(() => this.sendLatest(), wait);
  }

  /** Cancels the pending send and sends the newest report if it is newer than the last one sent. */
  flush(): void {
    this.clock.clearTimeout(this.pending);
    if (this.latestReading && this.lastSentAt < this.latestReading.at) this.sendLatest();
  }

  private sendLatest(): void {
    this.pending = undefined;
    const p = this.latestReading;
    if (!p) return;
    this.lastSentAt = this.clock.now();
    this.send({ percent: p.percent, message: p.message }, ++this.seq);
  }
}
