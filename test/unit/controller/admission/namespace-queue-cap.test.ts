import { describe, expect, it } from 'vitest';
import { namespaceQueueHolds, queueCapMessage } from '../../../../src/controller/admission/namespace-queue-cap.js';
import { planAdmission } from '../../../../src/controller/admission/admission-plan.js';
import { planTenantAdmission, tenantPolicy } from '../../../../src/controller/admission/fair-share.js';
import type { JobPhase } from '../../../../src/api/vision-job.js';
import { makeJob } from '../../../helpers/builders.js';

const NOW = 2_000_000;

function job(name: string, t: number, opts: { phase?: JobPhase; ns?: string; pool?: string; suspend?: boolean; notBefore?: number } = {}) {
  const b = makeJob(name).namespace(opts.ns ?? 'ns').pool(opts.pool ?? 'gpu').created(1_000_000 + t * 1000);
  if (opts.phase) b.phase(opts.phase);
  if (opts.suspend) b.spec({ suspend: true });
  if (opts.notBefore !== undefined) b.notBefore(new Date(opts.notBefore).toISOString());
  return b.obj();
}

describe('namespaceQueueHolds', () => {
  it('holds nothing without a cap', () => {
    expect(namespaceQueueHolds([job('a', 1), job('b', 2)], 'ns', undefined, NOW).held.size).toBe(0);
  });

  it('keeps the oldest waiting jobs of the namespace, over all pools, and holds the younger ones', () => {
    const jobs = [job('c', 3, { pool: 'cpu' }), job('a', 1), job('d', 4), job('b', 2, { pool: 'cpu' })];
    const r = namespaceQueueHolds(jobs, 'ns', 2, NOW);
    expect([...r.held].sort()).toEqual(['uid-c', 'uid-d']);
    expect(r.waiting).toBe(4);
  });

  it('queued jobs (and published ones the cache shows Pending) take room; running, finished, suspended, delayed and other namespaces do not', () => {
    const jobs = [
      job('q', 0, { phase: 'Queued' }),
      job('p', 0),
      job('r', 0, { phase: 'Running' }),
      job('s', 0, { phase: 'Succeeded' }),
      job('susp', 0, { suspend: true }),
      job('later', 0, { notBefore: NOW + 60_000 }),
      job('other', 0, { ns: 'other' }),
      job('a', 1),
      job('b', 2),
    ];
    const r = namespaceQueueHolds(jobs, 'ns', 3, NOW, new Set(['uid-p']));
    expect([...r.held]).toEqual(['uid-b']);
    expect(r.waiting).toBe(4);
  });

  it('a cap already filled by queued jobs holds every pending one', () => {
    const r = namespaceQueueHolds([job('q1', 0, { phase: 'Queued' }), job('q2', 0, { phase: 'Queued' }), job('a', 1)], 'ns', 1, NOW);
    expect([...r.held]).toEqual(['uid-a']);
  });

  it('the message names the namespace and the cap and does not change with the count', () => {
    expect(queueCapMessage('ns', 10)).toBe(
      'namespace ns already has 10 older jobs waiting (queued or pending), its cap (--max-waiting-per-namespace 10): the job enters the queue when older ones start',
    );
  });
});

describe('planTenantAdmission', () => {
  it('counts the strict plan in-flight jobs by tenant', () => {
    const jobs = [
      makeJob('ra').namespace('ns').tenant('a').phase('Running').obj(),
      makeJob('qa').namespace('ns').tenant('a').phase('Queued').obj(),
      makeJob('pa').namespace('ns').tenant('a').created(1_000_000).obj(),
      makeJob('pb').namespace('ns').tenant('b').created(1_001_000).obj(),
      makeJob('pb2').namespace('ns').tenant('b').created(1_002_000).obj(),
    ];
    const strict = planAdmission({ jobs, namespace: 'ns', pool: 'gpu', limit: 4 });
    expect(strict.admit.map((j) => j.metadata.name)).toEqual(['pa', 'pb']);
    const fair = planTenantAdmission(strict, tenantPolicy(undefined));
    expect(fair.admit.map((j) => j.metadata.name)).toEqual(['pb', 'pb2']);
    expect(fair.rest.map((j) => j.metadata.name)).toEqual(['pa']);
  });
});
