import { describe, expect, it } from 'vitest';
import { desiredReplicas, planScaling, type ScalingInput } from '../../../../src/controller/workerpool/scaling-plan.js';
import { effectivePoolSpec } from '../../../../src/controller/workerpool/workerpool-view.js';
import type { WorkerPodState } from '../../../../src/controller/workerpod/worker-pod-state.js';

const NOW = 1_000_000;
const spec = (o: Partial<Parameters<typeof effectivePoolSpec>[0]> = {}) =>
  effectivePoolSpec({ maxReplicas: 4, minReplicas: 0, slotsPerWorker: 1, scaleDownDelaySeconds: 10, ...o });

function w(name: string, o: Partial<WorkerPodState> = {}): WorkerPodState {
  return { name, phase: 'ready', busy: false, outdated: false, createdMs: NOW - 60_000, ...o };
}

function input(o: Partial<ScalingInput>): ScalingInput {
  return { spec: spec(), load: { queued: 0, running: 0 }, workers: [], idleSinceMs: new Map(), nowMs: NOW, ...o };
}

describe('desiredReplicas', () => {
  it('is ceil((queued + running) / slots) clamped to [min, max]', () => {
    expect(desiredReplicas(spec(), { queued: 0, running: 0 })).toBe(0);
    expect(desiredReplicas(spec(), { queued: 3, running: 0 })).toBe(3);
    expect(desiredReplicas(spec(), { queued: 12, running: 0 })).toBe(4);
    expect(desiredReplicas(spec({ slotsPerWorker: 3 }), { queued: 5, running: 2 })).toBe(3);
    expect(desiredReplicas(spec({ minReplicas: 2 }), { queued: 0, running: 1 })).toBe(2);
    expect(desiredReplicas(spec({ minReplicas: 9 }), { queued: 0, running: 0 })).toBe(4);
  });
});

describe('planScaling', () => {
  it('creates workers up to the desired count from nothing', () => {
    const p = planScaling(input({ load: { queued: 12, running: 0 } }));
    expect(p).toMatchObject({ desired: 4, create: 4, deleteDead: [], replaceOutdated: [] });
    expect(p.scaleDown).toBeUndefined();
  });

  it('counts unscheduled and starting pods as capacity on its way', () => {
    const p = planScaling(
      input({
        load: { queued: 4, running: 0 },
        workers: [w('a', { phase: 'unscheduled', unschedulableMessage: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.', unschedulableReason: 'Unschedulable' }), w('b', { phase: 'starting' }), w('c')],
      }),
    );
    expect(p.create).toBe(1);
    expect(p.unschedulable).toEqual({ count: 1, reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.' });
  });

  it('never lets pods exceed maxReplicas, counting terminating and dead ones until they are gone', () => {
    const p = planScaling(
      input({ load: { queued: 10, running: 0 }, workers: [w('a', { phase: 'terminating' }), w('b', { phase: 'dead' }), w('c')] }),
    );
    expect(p.desired).toBe(4);
    expect(p.create).toBe(1);
    expect(p.deleteDead).toEqual(['b']);
  });

  it('removes only workers idle for the delay, longest idle first, and asks to come back when the next is due', () => {
    const idle = new Map([
      ['a', NOW - 20_000],
      ['b', NOW - 15_000],
      ['c', NOW - 4_000],
    ]);
    const p = planScaling(input({ load: { queued: 0, running: 1 }, workers: [w('a'), w('b'), w('c'), w('d', { busy: true })], idleSinceMs: idle }));
    expect(p.desired).toBe(1);
    expect(p.create).toBe(0);
    expect(p.scaleDown).toEqual({ count: 2, candidates: ['a', 'b'] });
    expect(p.requeueAfterMs).toBe(6_000);
  });

  it('never picks a busy worker, even when it has been around longest', () => {
    const p = planScaling(
      input({ load: { queued: 0, running: 2 }, spec: spec({ slotsPerWorker: 2 }), workers: [w('a', { busy: true }), w('b', { busy: true }), w('c')], idleSinceMs: new Map([['c', 0]]) }),
    );
    expect(p.desired).toBe(1);
    expect(p.scaleDown).toEqual({ count: 1, candidates: ['c'] });
  });

  it('scales to zero when minReplicas is 0 and keeps minReplicas otherwise', () => {
    const idle = new Map([['a', 0], ['b', 0]]);
    expect(planScaling(input({ workers: [w('a'), w('b')], idleSinceMs: idle })).scaleDown).toEqual({ count: 2, candidates: ['a', 'b'] });
    expect(planScaling(input({ spec: spec({ minReplicas: 1 }), workers: [w('a'), w('b')], idleSinceMs: idle })).scaleDown?.count).toBe(1);
  });

  it('prefers removing unscheduled, then starting, then ready workers', () => {
    const idle = new Map([['r', 0], ['s', 5], ['u', 10]]);
    const p = planScaling(input({ workers: [w('r'), w('s', { phase: 'starting' }), w('u', { phase: 'unscheduled' })], idleSinceMs: idle }));
    expect(p.scaleDown?.candidates).toEqual(['u', 's', 'r']);
  });

  it('uses the creation time for a worker never seen idle', () => {
    const p = planScaling(input({ workers: [w('a', { createdMs: NOW - 3_000 })] }));
    expect(p.scaleDown).toBeUndefined();
    expect(p.requeueAfterMs).toBe(7_000);
  });

  it('replaces idle outdated workers at once and leaves busy ones to finish', () => {
    const p = planScaling(
      input({ load: { queued: 1, running: 2 }, workers: [w('old-idle', { outdated: true }), w('old-busy', { outdated: true, busy: true }), w('new-busy', { busy: true })] }),
    );
    expect(p.replaceOutdated).toEqual(['old-idle']);
    expect(p.desired).toBe(3);
    // the outdated pod still exists until deleted: the replacement waits for room under maxReplicas
    expect(p.create).toBe(1);
    expect(p.scaleDown).toBeUndefined();
  });

  it('waits for the outdated pod to go before replacing it when the pool is at maxReplicas', () => {
    const p = planScaling(
      input({ spec: spec({ maxReplicas: 2 }), load: { queued: 1, running: 1 }, workers: [w('old', { outdated: true }), w('new', { busy: true })] }),
    );
    expect(p.replaceOutdated).toEqual(['old']);
    expect(p.create).toBe(0);
  });

  it('does nothing to a pool being deleted', () => {
    const p = planScaling(input({ poolDeleting: true, load: { queued: 5, running: 0 }, workers: [w('a', { outdated: true })] }));
    expect(p).toMatchObject({ desired: 0, create: 0, replaceOutdated: [] });
    expect(p.scaleDown).toBeUndefined();
  });
});
