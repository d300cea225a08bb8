/**
 * The dashboard's view model: the compact rows the server sends to browsers and the pure logic
 * both sides share (summaries, filtering, per-minute buckets, percentiles). No DOM and no Node
 * APIs: the server imports it and esbuild bundles the same file into the front end, so the
 * browser and the unit tests run the very code the server does.
 */

export const TENANT_LABEL = 'visionq.dev/tenant';
export const JOB_PHASE_ORDER = ['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;

/** The fields of a VisionJob the dashboard reads (structural, so a partial object is fine). */
export interface JobLike {
  metadata?: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string | Date; labels?: Record<string, string>; deletionTimestamp?: string | Date };
  spec?: { pool?: string };
  status?: {
    phase?: string;
    attempts?: number;
    failures?: number;
    disruptions?: number;
    progress?: { percent?: number; message?: string };
    currentAttempt?: { pod?: string; attempt?: number };
    queuedAt?: string;
    startTime?: string;
    completionTime?: string;
    message?: string;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  };
}

export interface PoolLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { maxReplicas?: number; slotsPerWorker?: number; minReplicas?: number };
  status?: {
    replicas?: number;
    ready?: number;
    busy?: number;
    idle?: number;
    pending?: number;
    queued?: number;
    running?: number;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  };
}

/** One job as the list shows it. Times are epoch milliseconds (0 = not yet). */
export interface JobRow {
  key: string;
  namespace: string;
  name: string;
  pool: string;
  tenant: string;
  phase: string;
  percent: number;
  progressMessage: string;
  attempts: number;
  failures: number;
  disruptions: number;
  createdAt: number;
  queuedAt: number;
  startedAt: number;
  completedAt: number;
  /** Reason of the condition that explains the phase (Failed/Succeeded/Admitted False...). */
  reason: string;
  message: string;
  pod: string;
  deleting: boolean;
}

export interface PoolRow {
  key: string;
  namespace: string;
  name: string;
  replicas: number;
  ready: number;
  busy: number;
  idle: number;
  pending: number;
  queued: number;
  running: number;
  minReplicas: number;
  maxReplicas: number;
  slotsPerWorker: number;
  /** maxReplicas x slotsPerWorker: jobs the pool may run at once. */
  capacity: number;
  /** Reason of a CapacityPending=True condition, '' otherwise. */
  capacityPendingReason: string;
  capacityPendingMessage: string;
}

/** A batch of changes pushed over Server-Sent Events. */
export interface ChangeBatch {
  jobs: { upsert: JobRow[]; remove: string[] };
  pools: { upsert: PoolRow[]; remove: string[] };
}

export interface Snapshot {
  namespace: string | null;
  allowCancel: boolean;
  jobs: JobRow[];
  pools: PoolRow[];
}

function ms(t: string | Date | undefined): number {
  if (t === undefined) return 0;
  const v = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(v) ? v : 0;
}

/** The condition reason worth showing for a phase: why it failed, why it is held, how it ended. */
function reasonOf(job: JobLike): string {
  const conds = job.status?.conditions ?? [];
  const phase = job.status?.phase;
  const pick = (type: string, status = 'True') => conds.find((c) => c.type === type && c.status === status)?.reason;
  if (phase === 'Failed' || phase === 'Cancelled') return pick('Failed') ?? '';
  if (phase === 'Succeeded') return pick('Succeeded') ?? '';
  if (phase === 'Pending' || phase === undefined) return pick('Admitted', 'False') ?? pick('Pending') ?? '';
  return '';
}

export function summarizeJob(job: JobLike): JobRow {
  const ns = job.metadata?.namespace ?? '';
  const name = job.metadata?.name ?? '';
  const s = job.status ?? {};
  return {
    key: `${ns}/${name}`,
    namespace: ns,
    name,
    pool: job.spec?.pool ?? '',
    tenant: job.metadata?.labels?.[TENANT_LABEL] ?? '',
    phase: s.phase ?? 'Pending',
    percent: s.phase === 'Succeeded' ? 100 : Math.max(0, Math.min(100, s.progress?.percent ?? 0)),
    progressMessage: s.progress?.message ?? '',
    attempts: s.attempts ?? 0,
    failures: s.failures ?? 0,
    disruptions: s.disruptions ?? 0,
    createdAt: ms(job.metadata?.creationTimestamp),
    queuedAt: ms(s.queuedAt),
    startedAt: ms(s.startTime),
    completedAt: ms(s.completionTime),
    reason: reasonOf(job),
    message: s.message ?? '',
    pod: s.currentAttempt?.pod ?? '',
    deleting: job.metadata?.deletionTimestamp !== undefined,
  };
}

export function summarizePool(pool: PoolLike): PoolRow {
  const ns = pool.metadata?.namespace ?? '';
  const name = pool.metadata?.name ?? '';
  const s = pool.status ?? {};
  const maxReplicas = pool.spec?.maxReplicas ?? 0;
  const slotsPerWorker = pool.spec?.slotsPerWorker ?? 1;
  const cp = s.conditions?.find((c) => c.type === 'CapacityPending' && c.status === 'True');
  return {
    key: `${ns}/${name}`,
    namespace: ns,
    name,
    replicas: s.replicas ?? 0,
    ready: s.ready ?? 0,
    busy: s.busy ?? 0,
    idle: s.idle ?? 0,
    pending: s.pending ?? 0,
    queued: s.queued ?? 0,
    running: s.running ?? 0,
    minReplicas: pool.spec?.minReplicas ?? 0,
    maxReplicas,
    slotsPerWorker,
    capacity: maxReplicas * slotsPerWorker,
    capacityPendingReason: cp?.reason ?? '',
    capacityPendingMessage: cp?.message ?? '',
  };
}

/** Whether two rows show the same thing (the server sends only rows that changed). */
export function sameRow<T extends object>(a: T, b: T): boolean {
  for (const k of Object.keys(a) as Array<keyof T>) if (a[k] !== b[k]) return false;
  return true;
}

export interface JobFilter {
  phase?: string;
  pool?: string;
  /** Case-insensitive substring of name, namespace, tenant, pool, reason or message. */
  text?: string;
}

export function matchesFilter(row: JobRow, f: JobFilter): boolean {
  if (f.phase && row.phase !== f.phase) return false;
  if (f.pool && row.pool !== f.pool) return false;
  const t = f.text?.trim().toLowerCase();
  if (t) {
    const hay = `${row.namespace}/${row.name} ${row.tenant} ${row.pool} ${row.reason} ${row.message}`.toLowerCase();
    if (!hay.includes(t)) return false;
  }
  return true;
}

/** Unfinished jobs first (newest first), then finished ones (latest finished first). */
export function compareJobs(a: JobRow, b: JobRow): number {
  const fa = a.completedAt > 0 ? 1 : 0;
  const fb = b.completedAt > 0 ? 1 : 0;
  if (fa !== fb) return fa - fb;
  if (fa === 1 && a.completedAt !== b.completedAt) return b.completedAt - a.completedAt;
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function filterJobs(rows: Iterable<JobRow>, f: JobFilter): JobRow[] {
  const out: JobRow[] = [];
  for (const r of rows) if (matchesFilter(r, f)) out.push(r);
  return out.sort(compareJobs);
}

export function countByPhase(rows: Iterable<JobRow>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of JOB_PHASE_ORDER) out[p] = 0;
  for (const r of rows) out[r.phase] = (out[r.phase] ?? 0) + 1;
  return out;
}

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks (the method of
 * numpy's default and of Prometheus' histogram_quantile within a bucket); NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export const MINUTE_MS = 60_000;

export interface MinuteSeries {
  /** Start of each minute, epoch seconds (uPlot's x axis unit). */
  minutes: number[];
  started: number[];
  finished: number[];
  /** Queue wait (start - queued or created) percentiles of jobs that started in the minute, seconds. */
  waitP50: Array<number | null>;
  waitP95: Array<number | null>;
  /** Run time (completion - start) percentiles of jobs that finished in the minute, seconds. */
  runP50: Array<number | null>;
  runP95: Array<number | null>;
}

export function queueWaitMs(r: JobRow): number | undefined {
  if (r.startedAt === 0) return undefined;
  const from = r.queuedAt || r.createdAt;
  return from > 0 ? Math.max(0, r.startedAt - from) : undefined;
}

export function runTimeMs(r: JobRow): number | undefined {
  if (r.startedAt === 0 || r.completedAt === 0) return undefined;
  return Math.max(0, r.completedAt - r.startedAt);
}

/** Per-minute counts and percentiles over the `count` whole minutes ending with the one holding `now`. */
export function minuteSeries(rows: Iterable<JobRow>, now: number, count = 30): MinuteSeries {
  const last = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const first = last - (count - 1) * MINUTE_MS;
  const started = new Array<number>(count).fill(0);
  const finished = new Array<number>(count).fill(0);
  const waits: number[][] = Array.from({ length: count }, () => []);
  const runs: number[][] = Array.from({ length: count }, () => []);
  const slot = (t: number): number => (t >= first && t < last + MINUTE_MS ? Math.floor((t - first) / MINUTE_MS) : -1);
  for (const r of rows) {
    const s = slot(r.startedAt);
    if (r.startedAt > 0 && s >= 0) {
      started[s]!++;
      const w = queueWaitMs(r);
      if (w !== undefined) waits[s]!.push(w / 1000);
    }
    const f = slot(r.completedAt);
    if (r.completedAt > 0 && f >= 0) {
      finished[f]!++;
      const d = runTimeMs(r);
      if (d !== undefined) runs[f]!.push(d / 1000);
    }
  }
  const pct = (xs: number[], p: number): number | null => (xs.length ? percentile(xs, p) : null);
  return {
    minutes: Array.from({ length: count }, (_, i) => (first + i * MINUTE_MS) / 1000),
    started,
    finished,
    waitP50: waits.map((w) => pct(w, 50)),
    waitP95: waits.map((w) => pct(w, 95)),
    runP50: runs.map((w) => pct(w, 50)),
    runP95: runs.map((w) => pct(w, 95)),
  };
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
}

function percentilesOf(xs: number[]): Percentiles {
  return { count: xs.length, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99) };
}

/** Queue wait and run time percentiles over every watched job, milliseconds. */
export function overallPercentiles(rows: Iterable<JobRow>): { wait: Percentiles; run: Percentiles } {
  const waits: number[] = [];
  const runs: number[] = [];
  for (const r of rows) {
    const w = queueWaitMs(r);
    if (w !== undefined) waits.push(w);
    const d = runTimeMs(r);
    if (d !== undefined) runs.push(d);
  }
  return { wait: percentilesOf(waits), run: percentilesOf(runs) };
}

/** "3s", "4m 10s", "2h 5m", "3d 4h"; '' for a negative or NaN span. */
export function formatDuration(spanMs: number): string {
  if (!Number.isFinite(spanMs) || spanMs < 0) return '';
  const s = Math.floor(spanMs / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Which rows a window of `height` px scrolled to `scrollTop` shows, with `overscan` rows either side. */
export function visibleRange(total: number, rowHeight: number, scrollTop: number, height: number, overscan = 10): { start: number; end: number } {
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(total, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}
