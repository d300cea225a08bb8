import { describe, expect, it } from 'vitest';
import { creationMs, planAdmission } from '../../../../src/controller/admission/admission-plan.js';
import { poolLoad } from '../../../../src/controller/admission/pool-load.js';
import type { VisionJobObject } from '../../../../src/controller/manager/context-types.js';
import type { JobPhase } from '../../../../src/api/vision-job.js';
import { makeJob } from '../../../helpers/builders.js';

function job(name: string, opts: { priority?: number; t?: number; phase?: JobPhase; pool?: string; deleting?: boolean } = {}): VisionJobObject {
  const b = makeJob(name)
    .namespace('ns')
    .created(1_000_000 + (opts.t ?? 0) * 1000)
    .pool(opts.pool ?? 'gpu')
    .priority(opts.priority);
  if (opts.deleting) b.deleting();
  if (opts.phase) b.phase(opts.phase);
  return b.obj();
}

describe('planAdmission', () => {
  it('admits in priority then creation order up to the free capacity', () => {
    const jobs = [job('a', { t: 1 }), job('b', { t: 2 }), job('hi', { t: 9, priority: 10 }), job('r', { phase: 'Running' })];
    const plan = planAdmission({ jobs, namespace: 'ns', pool: 'gpu', limit: 3 });
    expect(plan.inFlight).toBe(1);
    expect(plan.waiting.map((j) => j.metadata.name)).toEqual(['hi', 'a', 'b']);
    expect(plan.admit.map((j) => j.metadata.name)).toEqual(['hi', 'a']);
  });

  it('never exceeds the limit and counts published-but-not-yet-cached jobs as in flight', () => {
    const jobs = [job('a', { t: 1 }), job('b', { t: 2 }), job('q', { phase: 'Queued' })];
    const plan = planAdmission({ jobs, namespace: 'ns', pool: 'gpu', limit: 2, publishedUids: new Set(['uid-a']) });
    expect(plan.inFlight).toBe(2);
    expect(plan.admit).toEqual([]);
  });

  it('ignores other pools, finished, deleting and ineligible jobs', () => {
    const jobs = [
      job('other', { pool: 'cpu' }),
      job('done', { phase: 'Succeeded' }),
      job('gone', { deleting: true }),
      job('susp', { t: 0 }),
      job('ok', { t: 1 }),
    ];
    const plan = planAdmission({ jobs, namespace: 'ns', pool: 'gpu', limit: 5, eligible: (j) => j.metadata.name !== 'susp' });
    expect(plan.admit.map((j) => j.metadata.name)).toEqual(['ok']);
  });
});

describe('poolLoad', () => {
  it('counts queued, running and waiting jobs of one pool', () => {
    const jobs = [job('a', { phase: 'Queued' }), job('b', { phase: 'Running' }), job('c'), job('d', { phase: 'Failed' }), job('e', { pool: 'x' })];
    expect(poolLoad(jobs, 'ns', 'gpu')).toEqual({ queued: 1, running: 1, pending: 1 });
  });
});

describe('creationMs', () => {
  it('parses once per object and parses again when the object was changed in place', () => {
    const j = job('a', { t: 1 });
    expect(creationMs(j)).toBe(1_001_000);
    expect(creationMs(j)).toBe(1_001_000);
    j.metadata.creationTimestamp = new Date(5_000).toISOString() as unknown as typeof j.metadata.creationTimestamp;
    expect(creationMs(j)).toBe(5_000);
    j.metadata.creationTimestamp = undefined;
    expect(creationMs(j)).toBe(0);
  });
});
