import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../../../src/kube/object-store.js';
import type { VisionJobObject } from '../../../../src/controller/manager/context-types.js';
import { JOBS_BY_POOL_INDEX, jobsByPoolIndex, jobsOfPool, poolKeyOf } from '../../../../src/controller/manager/jobs-by-pool.js';
import { makeJob } from '../../../helpers/builders.js';

describe('jobs by pool', () => {
  const jobs = [makeJob('a').namespace('ns').pool('gpu').obj(), makeJob('b').namespace('ns').pool('cpu').obj(), makeJob('c').namespace('other').pool('gpu').obj()];

  it('keys a job by namespace/pool', () => {
    expect(poolKeyOf(jobs[0]!)).toBe('ns/gpu');
    expect(jobsByPoolIndex(jobs[2]!)).toEqual(['other/gpu']);
    expect(jobsByPoolIndex({ ...jobs[0]!, metadata: { name: 'x' } })).toEqual([]);
  });

  it('reads a pool\'s jobs from the index, and by a scan of the cache without it', () => {
    const indexed = new ObjectStore<VisionJobObject>({ [JOBS_BY_POOL_INDEX]: jobsByPoolIndex });
    const plain = new ObjectStore<VisionJobObject>();
    for (const j of jobs) {
      indexed.set(j);
      plain.set(j);
    }
    expect(jobsOfPool({ store: indexed }, 'ns/gpu').map((j) => j.metadata.name)).toEqual(['a']);
    expect(jobsOfPool({ store: plain }, 'ns/gpu').map((j) => j.metadata.name)).toEqual(['a']);
    expect(jobsOfPool({ store: plain }, 'other/cpu')).toEqual([]);
  });
});
