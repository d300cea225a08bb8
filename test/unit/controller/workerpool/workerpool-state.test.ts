import { describe, expect, it } from 'vitest';
import type { JobPhase } from '../../../../src/api/vision-job.js';
import { makeJob } from '../../../helpers/builders.js';
import type { V1Pod } from '@kubernetes/client-node';
import { busyPodsOf, classifyWorkerPod } from '../../../../src/controller/workerpod/worker-pod-state.js';
import { WorkerIdleTracker } from '../../../../src/controller/workerpool/worker-idle-tracker.js';
import { PodExpectations } from '../../../../src/controller/workerpool/workerpool-expectations.js';
import { computePoolStatus, statusChanged } from '../../../../src/controller/workerpool/workerpool-status.js';
import { planScaling } from '../../../../src/controller/workerpool/scaling-plan.js';
import { effectivePoolSpec } from '../../../../src/controller/workerpool/workerpool-view.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

function pod(o: { name?: string; node?: string; phase?: string; ready?: boolean; deleted?: string; hash?: string; sched?: string }): V1Pod {
  return {
    metadata: {
      name: o.name ?? 'p',
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      labels: { 'visionq.dev/template-hash': o.hash ?? 'h1' },
      ...(o.deleted ? { deletionTimestamp: new Date(o.deleted), deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Pending',
      conditions: [
        ...(o.sched ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: o.sched }] : []),
        ...(o.ready !== undefined ? [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] : []),
      ],
    },
  };
}

const opts = { busyPods: new Set(['busy']), templateHash: 'h1', nowMs: NOW };

describe('classifyWorkerPod', () => {
  it('tells unscheduled, starting, ready, terminating and dead pods apart', () => {
    expect(classifyWorkerPod(pod({ sched: '0/2 nodes are available' }), opts)).toMatchObject({
      phase: 'unscheduled',
      unschedulableMessage: '0/2 nodes are available',
      unschedulableReason: 'Unschedulable',
      createdMs: Date.parse('2026-01-01T00:00:00Z'),
    });
    expect(classifyWorkerPod(pod({}), opts)?.unschedulableMessage).toBeUndefined();
    expect(classifyWorkerPod(pod({ node: 'n1' }), opts)?.phase).toBe('starting');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Running', ready: false }), opts)?.phase).toBe('starting');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Running', ready: true }), opts)?.phase).toBe('ready');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Running' }), opts)?.phase).toBe('ready');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Failed' }), opts)?.phase).toBe('dead');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Succeeded' }), opts)?.phase).toBe('dead');
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Running', deleted: '2026-01-01T00:09:50Z' }), opts)?.phase).toBe('terminating');
  });

  it('stops counting a terminating pod long past its grace period (lost node)', () => {
    expect(classifyWorkerPod(pod({ node: 'n1', phase: 'Running', deleted: '2026-01-01T00:05:00Z' }), opts)).toBeUndefined();
  });

  it('marks busy and outdated workers', () => {
    expect(classifyWorkerPod(pod({ name: 'busy', node: 'n', phase: 'Running' }), opts)).toMatchObject({ busy: true, outdated: false, node: 'n' });
    expect(classifyWorkerPod(pod({ hash: 'h0' }), opts)?.outdated).toBe(true);
  });
});

describe('busyPodsOf', () => {
  it('counts Running jobs of the pool per pod', () => {
    const job = (ns: string, p: string, phase: JobPhase, podName?: string) => {
      const b = makeJob(`${p}-${podName ?? phase}`).namespace(ns).pool(p).phase(phase);
      return (podName ? b.attempt(podName) : b).obj();
    };
    const m = busyPodsOf(
      [job('a', 'gpu', 'Running', 'w1'), job('a', 'gpu', 'Running', 'w1'), job('a', 'gpu', 'Queued', 'w2'), job('b', 'gpu', 'Running', 'w3'), job('a', 'cpu', 'Running', 'w4'), job('a', 'gpu', 'Succeeded', 'w5')],
      'a',
      'gpu',
    );
    expect([...m]).toEqual([['w1', 2]]);
  });
});

describe('WorkerIdleTracker', () => {
  it('starts the idle clock when a worker is first seen idle or stops being busy, and forgets gone pods', () => {
    const t = new WorkerIdleTracker();
    expect([...t.observe([{ name: 'a', busy: false }, { name: 'b', busy: true }], 100)]).toEqual([['a', 100]]);
    expect([...t.observe([{ name: 'a', busy: false }, { name: 'b', busy: true }], 200)]).toEqual([['a', 100]]);
    expect([...t.observe([{ name: 'a', busy: true }, { name: 'b', busy: false }], 300)]).toEqual([['b', 300]]);
    expect([...t.observe([{ name: 'a', busy: false }], 400)]).toEqual([['a', 400]]);
    t.resetIdleClock('a', 500);
    expect(t.observe([{ name: 'a', busy: false }], 600).get('a')).toBe(500);
  });
});

describe('PodExpectations', () => {
  it('reports creates not yet in the cache and deletes the cache still shows alive, until seen or expired', () => {
    const e = new PodExpectations(1_000);
    e.expectCreate('ns/p', 'a', 0);
    e.expectCreate('ns/p', 'b', 0);
    e.expectDelete('ns/p', 'c', 0);
    e.expectDelete('ns/p', 'd', 0);
    const cache = new Map([['a', { deleting: false }], ['c', { deleting: false }], ['d', { deleting: true }]]);
    expect(e.pending('ns/p', cache, 10)).toEqual({ creating: ['b'], deleting: ['c'] });
    expect(e.pending('ns/p', new Map(), 5_000)).toEqual({ creating: [], deleting: [] });
    e.expectCreate('ns/p', 'x', 0);
    e.forgetCreate('ns/p', 'x');
    expect(e.pending('ns/p', new Map(), 10).creating).toEqual([]);
  });
});

describe('computePoolStatus', () => {
  const spec = effectivePoolSpec({ maxReplicas: 4 });
  it('counts workers and reports CapacityPending with the scheduler reason', () => {
    const workers = [
      { name: 'a', phase: 'ready' as const, busy: true, outdated: false, createdMs: 0 },
      { name: 'b', phase: 'ready' as const, busy: false, outdated: false, createdMs: 0 },
      { name: 'c', phase: 'unscheduled' as const, busy: false, outdated: false, createdMs: 0, unschedulableMessage: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.', unschedulableReason: 'Unschedulable' },
      { name: 'd', phase: 'terminating' as const, busy: false, outdated: false, createdMs: 0 },
    ];
    const load = { queued: 2, running: 1 };
    const plan = planScaling({ spec, load, workers, idleSinceMs: new Map(), nowMs: 0 });
    const now = new Date('2026-01-01T00:00:00Z');
    const s = computePoolStatus({ generation: 3, workers, load, plan, now });
    expect(s).toMatchObject({ replicas: 3, ready: 2, busy: 1, idle: 1, pending: 1, queued: 2, running: 1, observedGeneration: 3 });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'WaitingForCapacity', message: '2/3 workers ready', lastTransitionTime: now.toISOString(), observedGeneration: 3 },
      { type: 'CapacityPending', status: 'True', reason: 'Unschedulable', message: '1 worker pod(s) unschedulable: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu.', lastTransitionTime: now.toISOString(), observedGeneration: 3 },
    ]);
    // unchanged status keeps transition times and is not rewritten
    const later = computePoolStatus({ generation: 3, workers, load, plan, now: new Date('2026-01-01T01:00:00Z'), previous: s });
    expect(later.conditions[1].lastTransitionTime).toBe(now.toISOString());
    expect(statusChanged(JSON.parse(JSON.stringify(s)), later)).toBe(false);
    expect(statusChanged(s, { ...later, busy: 2 })).toBe(true);
  });

  it('is Ready with no workers needed and reports a bad template', () => {
    const plan = planScaling({ spec, load: { queued: 0, running: 0 }, workers: [], idleSinceMs: new Map(), nowMs: 0 });
    const now = new Date(0);
    expect(computePoolStatus({ workers: [], load: { queued: 0, running: 0 }, plan, now }).conditions[0]).toMatchObject({ status: 'True', reason: 'NoWorkersNeeded' });
    expect(computePoolStatus({ workers: [], load: { queued: 0, running: 0 }, plan, now, blocked: { reason: 'InvalidTemplate', message: 'bad' } }).conditions[0]).toMatchObject({ status: 'False', reason: 'InvalidTemplate', message: 'bad' });
  });
});
