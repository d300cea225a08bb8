import { describe, expect, it } from 'vitest';
import { InvalidQuantityError, parseQuantityMilli } from '../../../src/sandbox/scheduler/quantity.js';
import { podRequests } from '../../../src/sandbox/scheduler/resources.js';
import { expandVars } from '../../../src/sandbox/kubelet/env-expansion.js';

describe('parseQuantityMilli', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.5', 500],
    ['1Ki', 1024_000],
    ['32Gi', 32 * 2 ** 30 * 1000],
    ['1G', 1e12],
    ['1e3', 1e6],
    ['100n', 1],
  ])('%s', (q, want) => expect(parseQuantityMilli(q)).toBe(want));

  it('rejects garbage', () => {
    expect(() => parseQuantityMilli('lots')).toThrow(InvalidQuantityError);
  });
});

describe('podRequests', () => {
  it('sums containers, takes the max with init containers, and uses limits when requests are absent', () => {
    const req = podRequests({
      spec: {
        initContainers: [{ name: 'i', resources: { requests: { cpu: '3' } } }],
        containers: [
          { name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } } },
          { name: 'b', resources: { requests: { cpu: '500m' }, limits: { 'nvidia.com/gpu': '2' } } },
        ],
      },
    });
    expect(req.get('cpu')).toBe(3000);
    expect(req.get('memory')).toBe(2 ** 30 * 1000);
    expect(req.get('nvidia.com/gpu')).toBe(3000);
    expect(req.get('pods')).toBe(1000);
  });
});

describe('expandVars', () => {
  const vars: Record<string, string> = { A: 'x', B: 'y' };
  const lookup = (n: string) => vars[n];
  it.each([
    ['$(A)-$(B)', 'x-y'],
    ['$$(A)', '$(A)'],
    ['$(MISSING)', '$(MISSING)'],
    ['$A $', '$A $'],
    ['$(A', '$(A'],
    ['$()', '$()'],
    ['$$$$', '$$'],
  ])('%s', (input, want) => expect(expandVars(input, lookup)).toBe(want));
});
