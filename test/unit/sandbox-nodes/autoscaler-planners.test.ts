import { describe, expect, it } from 'vitest';
import { planScaleUp } from '../../../src/sandbox/autoscaler/scale-up-planner.js';
import { planScaleDown } from '../../../src/sandbox/autoscaler/scale-down-planner.js';
import { node, pod } from './fixtures.js';

const template = node('template', { gpus: 2 });

describe('planScaleUp', () => {
  it('packs pending pods onto as few template nodes as needed', () => {
    const pending = [pod('a', { gpus: 1 }), pod('b', { gpus: 1 }), pod('c', { gpus: 1 })];
    const plan = planScaleUp({ unschedulable: pending, nodes: [], pods: pending, upcoming: 0, template, maxNodes: 10 });
    expect(plan.newNodes).toBe(2);
    expect(plan.triggering).toHaveLength(3);
  });

  it('counts nodes still being provisioned, so it never over-provisions', () => {
    const pending = [pod('a', { gpus: 1 }), pod('b', { gpus: 1 })];
    const plan = planScaleUp({ unschedulable: pending, nodes: [], pods: pending, upcoming: 1, template, maxNodes: 10 });
    expect(plan.newNodes).toBe(0);
  });

  it('counts free room on existing nodes (the scheduler will place them there)', () => {
    const existing = node('n1', { gpus: 2 });
    const pending = [pod('a', { gpus: 1 })];
    const plan = planScaleUp({ unschedulable: pending, nodes: [existing], pods: pending, upcoming: 0, template, maxNodes: 10 });
    expect(plan.newNodes).toBe(0);
  });

  it('stops at maxNodes and says so, and skips pods no template node could run', () => {
    const pending = [...Array.from({ length: 6 }, (_, i) => pod(`p${i}`, { gpus: 2 })), pod('huge', { gpus: 4 })];
    const plan = planScaleUp({ unschedulable: pending, nodes: [node('n1', { gpus: 0 })], pods: pending, upcoming: 1, template, maxNodes: 4 });
    expect(plan.newNodes).toBe(2);
    expect(plan.notHelped.find((x) => x.pod.metadata?.name === 'huge')?.reason).toBe('Insufficient nvidia.com/gpu');
    expect(plan.notHelped.filter((x) => x.reason === 'max node group size reached')).toHaveLength(3);
  });
});

describe('planScaleDown', () => {
  const base = { pending: [], utilizationThreshold: 0.5 };

  it('finds an empty candidate unneeded', () => {
    const plan = planScaleDown({ ...base, nodes: [node('a')], pods: [], candidates: ['a'] });
    expect([...plan.unneeded.keys()]).toEqual(['a']);
  });

  it('never removes a node with a safe-to-evict=false pod, nor one with a pod no controller owns', () => {
    const pods = [
      pod('w', { node: 'a', annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }),
      pod('bare', { node: 'b', owned: false }),
    ];
    const plan = planScaleDown({ ...base, nodes: [node('a', { gpus: 4 }), node('b', { gpus: 4 }), node('spare', { gpus: 4 })], pods, candidates: ['a', 'b'] });
    expect(plan.unneeded.size).toBe(0);
    expect(plan.needed.get('a')).toMatch(/safe-to-evict=false/);
    expect(plan.needed.get('b')).toMatch(/not replicated/);
  });

  it('moves evictable pods elsewhere in simulation, without two candidates relying on each other', () => {
    const nodes = [node('a', { gpus: 4 }), node('b', { gpus: 4 }), node('static', { gpus: 1 })];
    const pods = [pod('x', { node: 'a', gpus: 1 }), pod('y', { node: 'b', gpus: 1 })];
    const plan = planScaleDown({ ...base, nodes, pods, candidates: ['a', 'b'] });
    // Only one of them fits on the static node.
    expect(plan.unneeded.size).toBe(1);
  });

  it('keeps busy nodes and nodes a pending pod could use', () => {
    const busy = planScaleDown({ ...base, nodes: [node('a'), node('s', { gpus: 4 })], pods: [pod('x', { node: 'a', gpus: 1 })], candidates: ['a'] });
    expect(busy.needed.get('a')).toMatch(/utilization/);
    const wanted = planScaleDown({ ...base, pending: [pod('p', { gpus: 1 })], nodes: [node('a')], pods: [], candidates: ['a'] });
    expect(wanted.needed.get('a')).toMatch(/pending pod/);
  });

  it('ignores finished pods', () => {
    const plan = planScaleDown({ ...base, nodes: [node('a')], pods: [pod('done', { node: 'a', owned: false, phase: 'Succeeded' })], candidates: ['a'] });
    expect(plan.unneeded.has('a')).toBe(true);
  });
});
