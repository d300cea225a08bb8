import { describe, expect, it } from 'vitest';
import {
  compareJobs,
  filterJobs,
  formatDuration,
  minuteSeries,
  overallPercentiles,
  percentile,
  summarizeJob,
  summarizePool,
  visibleRange,
  type JobLike,
  type JobRow,
} from '../../../src/dashboard/view-model.js';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Builder in the style of the controller tests: makeJob('a').pool('p').phase('Running').obj(). */
function makeJob(name: string) {
  const o: JobLike = { metadata: { name, namespace: 'ns', creationTimestamp: iso(T0), labels: {} }, spec: { pool: 'p' }, status: {} };
  const b = {
    pool: (p: string) => ((o.spec!.pool = p), b),
    tenant: (t: string) => ((o.metadata!.labels!['visionq.dev/tenant'] = t), b),
    phase: (p: string) => ((o.status!.phase = p), b),
    created: (ms: number) => ((o.metadata!.creationTimestamp = iso(ms)), b),
    queued: (ms: number) => ((o.status!.queuedAt = iso(ms)), b),
    started: (ms: number) => ((o.status!.startTime = iso(ms)), b),
    completed: (ms: number) => ((o.status!.completionTime = iso(ms)), b),
    progress: (percent: number, message?: string) => ((o.status!.progress = { percent, message }), b),
    condition: (type: string, status: string, reason: string) => ((o.status!.conditions = [...(o.status!.conditions ?? []), { type, status, reason }]), b),
    obj: () => o,
    row: (): JobRow => summarizeJob(o),
  };
  return b;
}

describe('percentile', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10], 99)).toBe(10);
    expect(percentile([5, 1, 3], 0)).toBe(1);
    expect(percentile([5, 1, 3], 100)).toBe(5);
    expect(percentile(Array.from({ length: 101 }, (_, i) => i), 90)).toBe(90);
    expect(percentile([0, 10], 95)).toBeCloseTo(9.5);
  });
  it('is NaN without values and does not reorder its input', () => {
    expect(percentile([], 50)).toBeNaN();
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('summaries', () => {
  it('reads tenant, progress, times and the reason of a failure', () => {
    const r = makeJob('a').tenant('acme').phase('Failed').progress(40, 'frame 40').queued(T0 + 1000).started(T0 + 3000).completed(T0 + 9000)
      .condition('Failed', 'True', 'PermanentFailure').row();
    expect(r).toMatchObject({ key: 'ns/a', tenant: 'acme', phase: 'Failed', percent: 40, reason: 'PermanentFailure', startedAt: T0 + 3000, completedAt: T0 + 9000 });
  });
  it('shows a missing tenant as empty, no status as Pending and a success as 100%', () => {
    expect(makeJob('b').row()).toMatchObject({ tenant: '', phase: 'Pending', percent: 0, startedAt: 0 });
    expect(makeJob('c').phase('Succeeded').progress(75).row().percent).toBe(100);
  });
  it('gives a pool capacity maxReplicas x slotsPerWorker and its CapacityPending reason', () => {
    const p = summarizePool({
      metadata: { name: 'gpu', namespace: 'ns' },
      spec: { maxReplicas: 3, slotsPerWorker: 4 },
      status: { busy: 1, conditions: [{ type: 'CapacityPending', status: 'True', reason: 'WorkersUnschedulable', message: '1 pod pending' }] },
    });
    expect(p).toMatchObject({ capacity: 12, busy: 1, idle: 0, capacityPendingReason: 'WorkersUnschedulable' });
    expect(summarizePool({ metadata: { name: 'x', namespace: 'ns' }, spec: { maxReplicas: 2 }, status: { conditions: [{ type: 'CapacityPending', status: 'False', reason: 'Enough' }] } }).capacityPendingReason).toBe('');
  });
});

describe('filtering', () => {
  const rows = [
    makeJob('cat-1').pool('gpu').tenant('acme').phase('Running').created(T0 + 3).row(),
    makeJob('dog-2').pool('cpu').tenant('zeta').phase('Failed').created(T0 + 2).completed(T0 + 50).condition('Failed', 'True', 'Timeout').row(),
    makeJob('cat-3').pool('cpu').phase('Succeeded').created(T0 + 1).completed(T0 + 60).row(),
    makeJob('eel-4').pool('gpu').phase('Queued').created(T0 + 4).row(),
  ];
  it('filters by phase, pool and case-insensitive text over name, tenant and reason', () => {
    expect(filterJobs(rows, { phase: 'Failed' }).map((r) => r.name)).toEqual(['dog-2']);
    expect(filterJobs(rows, { pool: 'cpu' }).map((r) => r.name)).toEqual(['cat-3', 'dog-2']);
    expect(filterJobs(rows, { text: 'CAT' }).map((r) => r.name)).toEqual(['cat-1', 'cat-3']);
    expect(filterJobs(rows, { text: 'acme' }).map((r) => r.name)).toEqual(['cat-1']);
    expect(filterJobs(rows, { text: 'timeout' }).map((r) => r.name)).toEqual(['dog-2']);
    expect(filterJobs(rows, { pool: 'gpu', text: 'cat' }).map((r) => r.name)).toEqual(['cat-1']);
    expect(filterJobs(rows, { text: '  ' })).toHaveLength(4);
  });
  it('lists unfinished jobs newest first, then finished ones latest first', () => {
    expect([...rows].sort(compareJobs).map((r) => r.name)).toEqual(['eel-4', 'cat-1', 'cat-3', 'dog-2']);
  });
});

describe('per-minute series', () => {
  const now = T0 + 10 * 60_000 + 30_000; // 10:10:30
  const rows = [
    // started 10:09:10 after 10 s in the queue, finished 10:10:05 after 55 s
    makeJob('a').queued(T0 + 9 * 60_000).started(T0 + 9 * 60_000 + 10_000).completed(T0 + 10 * 60_000 + 5_000).row(),
    // started 10:09:40 after 30 s (no queuedAt: counted from creation), still running
    makeJob('b').created(T0 + 9 * 60_000 + 10_000).started(T0 + 9 * 60_000 + 40_000).row(),
    // started and finished before the window
    makeJob('old').queued(T0 - 3_600_000).started(T0 - 3_590_000).completed(T0 - 3_500_000).row(),
    makeJob('waiting').row(),
  ];
  it('counts starts and finishes into the minute they happened in', () => {
    const s = minuteSeries(rows, now, 5);
    expect(s.minutes).toEqual([6, 7, 8, 9, 10].map((m) => (T0 + m * 60_000) / 1000));
    expect(s.started).toEqual([0, 0, 0, 2, 0]);
    expect(s.finished).toEqual([0, 0, 0, 0, 1]);
    expect(s.waitP50[3]).toBe(20);
    expect(s.waitP95[3]).toBeCloseTo(29);
    expect(s.runP50[4]).toBe(55);
    expect(s.runP50[3]).toBeNull();
  });
  it('gives overall percentiles over every watched job', () => {
    const p = overallPercentiles(rows);
    expect(p.wait.count).toBe(3);
    expect(p.wait.p50).toBe(10_000);
    expect(p.run.count).toBe(2);
    expect(p.run.p50).toBe((55_000 + 90_000) / 2);
  });
});

describe('windowing and formatting', () => {
  it('renders only the rows in view plus the overscan', () => {
    expect(visibleRange(5000, 30, 0, 600, 10)).toEqual({ start: 0, end: 30 });
    expect(visibleRange(5000, 30, 30_000, 600, 10)).toEqual({ start: 990, end: 1030 });
    expect(visibleRange(5000, 30, 150_000, 600, 10)).toEqual({ start: 4990, end: 5000 });
    expect(visibleRange(0, 30, 0, 600)).toEqual({ start: 0, end: 0 });
  });
  it('formats durations coarsely', () => {
    expect(formatDuration(999)).toBe('0s');
    expect(formatDuration(61_000)).toBe('1m 1s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h 5m');
    expect(formatDuration(-1)).toBe('');
  });
});
