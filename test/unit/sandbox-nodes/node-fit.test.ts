import { describe, expect, it } from 'vitest';
import { unfitReasons, unschedulableMessage } from '../../../src/sandbox/scheduler/node-fit.js';
import { freeOnNode } from '../../../src/sandbox/scheduler/node-usage.js';
import { podRequests } from '../../../src/sandbox/scheduler/resources.js';
import { node, pod } from './fixtures.js';

describe('unfitReasons', () => {
  it('names every insufficient resource', () => {
    const p = pod('p', { gpus: 2, cpu: '16' });
    expect(unfitReasons(p, node('n'), podRequests(p), freeOnNode(node('n'), undefined))).toEqual([
      'Insufficient cpu',
      'Insufficient nvidia.com/gpu',
    ]);
  });

  it('checks taints before the node selector, and tolerations lift taints', () => {
    const n = node('n');
    n.spec = { taints: [{ key: 'gpu', value: 'a100', effect: 'NoSchedule' }] };
    const p = pod('p', { nodeSelector: { pool: 'x' } });
    expect(unfitReasons(p, n, podRequests(p), freeOnNode(n, undefined))).toEqual(['node(s) had untolerated taint {gpu: a100}']);
    p.spec!.tolerations = [{ key: 'gpu', operator: 'Exists' }];
    expect(unfitReasons(p, n, podRequests(p), freeOnNode(n, undefined))).toEqual(["node(s) didn't match Pod's node affinity/selector"]);
  });

  it('treats a node that is not Ready as tainted not-ready, and cordoned nodes as unschedulable', () => {
    const n = node('n');
    n.status!.conditions = [{ type: 'Ready', status: 'False' }];
    const p = pod('p');
    expect(unfitReasons(p, n, podRequests(p), freeOnNode(n, undefined))).toEqual(['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
    const m = node('m');
    m.spec = { unschedulable: true };
    expect(unfitReasons(p, m, podRequests(p), freeOnNode(m, undefined))).toEqual(['node(s) were unschedulable']);
  });

  it('matches required node affinity expressions', () => {
    const n = node('n', { labels: { zone: 'a', size: '4' } });
    const p = pod('p');
    p.spec!.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }, { key: 'size', operator: 'Gt', values: ['2'] }] }],
        },
      },
    };
    expect(unfitReasons(p, n, podRequests(p), freeOnNode(n, undefined))).toEqual([]);
    p.spec!.affinity.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchExpressions![0].operator = 'NotIn';
    expect(unfitReasons(p, n, podRequests(p), freeOnNode(n, undefined))).toHaveLength(1);
  });
});

describe('unschedulableMessage', () => {
  it('counts reasons over nodes, sorted, like kube-scheduler', () => {
    expect(unschedulableMessage(2, [['Insufficient nvidia.com/gpu'], ['Insufficient nvidia.com/gpu']])).toBe(
      '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.',
    );
    expect(unschedulableMessage(3, [['Insufficient cpu', 'Insufficient nvidia.com/gpu'], ['Insufficient nvidia.com/gpu'], ['node(s) were unschedulable']])).toBe(
      '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable, 2 Insufficient nvidia.com/gpu.',
    );
    expect(unschedulableMessage(0, [])).toBe('no nodes available to schedule pods');
  });
});
