/**
 * The chaos test's bookkeeping: the seeded plan of jobs and fault moments, the record of every
 * fault really injected, and the per-job budget of extra attempts those faults allow (see
 * chaos.test.ts for why each kind of fault is allowed what it is).
 */
import type { ProbeRun } from './harness.js';

export interface PlannedJob {
  name: string;
  pool: string;
  durationSeconds: number;
  /** Pause before creating this job. */
  gapMs: number;
}

export type FaultKind = 'pod' | 'controller' | 'nats';

export interface PlannedFault {
  /** Offset from the start of the chaos phase. */
  atMs: number;
  kind: FaultKind;
}

export type InjectedFault =
  | { kind: 'pod'; at: number; pod: string; victim: string }
  | { kind: 'controller'; at: number; killed: string; replacement: string }
  | { kind: 'nats'; at: number; node: number; restartedAt?: number; /** pool consumers' Raft leaders: before the kill, after the restart, 2 s later */ leaders: string[] };

export function between(random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

/** Jobs spread over the pools with seeded durations and arrival gaps. */
export function planJobs(random: () => number, o: { count: number; pools: string[]; durationSeconds: [number, number]; gapMs: [number, number] }): PlannedJob[] {
  return Array.from({ length: o.count }, (_, i) => ({
    name: `chaos-${i}`,
    pool: o.pools[Math.floor(random() * o.pools.length)]!,
    durationSeconds: Math.round(between(random, o.durationSeconds[0], o.durationSeconds[1]) * 10) / 10,
    gapMs: Math.round(between(random, o.gapMs[0], o.gapMs[1])),
  }));
}

/**
 * Fault moments over `windowMs`, one every gapMs (seeded); the first ones are every kind once in
 * a seeded order (so each run has all of them), the rest drawn by weight.
 */
export function planFaults(random: () => number, o: { windowMs: number; gapMs: [number, number]; weights: Record<FaultKind, number> }): PlannedFault[] {
  const kinds = Object.entries(o.weights) as Array<[FaultKind, number]>;
  const total = kinds.reduce((s, [, w]) => s + w, 0);
  const first = kinds.map(([k]) => k);
  for (let i = first.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [first[i], first[j]] = [first[j]!, first[i]!];
  }
  const faults: PlannedFault[] = [];
  for (let at = between(random, o.gapMs[0], o.gapMs[1]); at < o.windowMs; at += between(random, o.gapMs[0], o.gapMs[1])) {
    let pick = random() * total;
    const kind = first.shift() ?? kinds.find(([, w]) => (pick -= w) < 0)?.[0] ?? kinds[kinds.length - 1]![0];
    faults.push({ atMs: Math.round(at), kind });
  }
  return faults;
}

/**
 * Jobs each fault may have disturbed, by job name: how many extra attempts it may have had. Read
 * from the algorithm's own log (not the job status, which lags and is what is being tested):
 * - pod: the job of a run on that pod in flight at the deletion (still running, just started:
 *   its `started` event can come before the process, or just ended with its agent still acking
 *   and reporting it); at most one job, one slot a worker;
 * - nats: every job with a run in flight when the node was killed and when it rejoined: either
 *   moment can move a pool consumer's Raft leadership, and a new leader redelivers what the old
 *   one delivered or took an ack for without having replicated it;
 * - controller: none.
 * "In flight at t" is: started by `t + slackMs`, not ended before `t - slackMs`.
 */
export function disruptionBudget(faults: InjectedFault[], runs: ProbeRun[], slackMs: number): Map<string, number> {
  const budget = new Map<string, number>();
  const inFlight = (r: ProbeRun, from: number, to: number): boolean => r.start <= to && (r.end === undefined || r.end >= from);
  for (const f of faults) {
    let hit: ProbeRun[] = [];
    const at = (t: number): ((r: ProbeRun) => boolean) => (r) => inFlight(r, t - slackMs, t + slackMs);
    if (f.kind === 'pod') hit = runs.filter((r) => r.pod === f.pod && at(f.at)(r));
    else if (f.kind === 'nats') hit = runs.filter((r) => at(f.at)(r) || (f.restartedAt !== undefined && at(f.restartedAt)(r)));
    for (const job of new Set(hit.map((r) => r.job))) budget.set(job, (budget.get(job) ?? 0) + 1);
  }
  return budget;
}

/** Runs the algorithm started, by job name. */
export function runsByJob(runs: ProbeRun[]): Map<string, ProbeRun[]> {
  const by = new Map<string, ProbeRun[]>();
  for (const r of runs) by.set(r.job, [...(by.get(r.job) ?? []), r]);
  return by;
}

export function describeFaults(faults: InjectedFault[]): string {
  const n = (k: FaultKind): number => faults.filter((f) => f.kind === k).length;
  return `${faults.length} faults (${n('pod')} pod force-deletes, ${n('controller')} leader SIGKILLs, ${n('nats')} NATS node SIGKILLs)`;
}
