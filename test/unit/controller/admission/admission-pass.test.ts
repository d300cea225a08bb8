import { describe, expect, it } from 'vitest';
import { buildJobMessage, poolLimit } from '../../../../src/controller/admission/admission-pass.js';
import type { VisionJobObject, WorkerPoolObject } from '../../../../src/controller/manager/context-types.js';
import { pendingStatus } from '../../../../src/controller/visionjob/visionjob-pending.js';
import { JobMessage } from '../../../../src/queue/job-message.js';
import { makeJob, makePool } from '../../../helpers/builders.js';

const pool: WorkerPoolObject = makePool('gpu')
  .namespace('ns')
  .max(3)
  .slots(2)
  .permanentExitCodes(3, 4)
  .jobDefaults({ retries: 5, timeoutSeconds: 600, backoff: { initialSeconds: 2 } })
  .template({ spec: { containers: [{ name: 'a' }] } })
  .obj();

describe('buildJobMessage', () => {
  it('resolves settings job → pool defaults → built-ins and carries the pool exit codes', () => {
    const job: VisionJobObject = makeJob('j').namespace('ns').uid('u-1').pool('gpu').input({ video: 'a' }).spec({ args: ['--x'], env: [{ name: 'A', value: '1' }], retries: 1 }).obj();
    const msg = JobMessage.parse(buildJobMessage(job, pool, new Date('2026-01-01T00:00:00Z')));
    expect(msg).toMatchObject({
      uid: 'u-1',
      namespace: 'ns',
      name: 'j',
      pool: 'gpu',
      input: { video: 'a' },
      args: ['--x'],
      env: { A: '1' },
      retries: 1,
      timeoutSeconds: 600,
      permanentExitCodes: [3, 4],
      requeueGeneration: 0,
    });
    expect(msg.backoff.initialSeconds).toBe(2);
    expect(msg.backoff.maxSeconds).toBeGreaterThan(0);
  });

  it('the pool limit is maxReplicas × slotsPerWorker', () => {
    expect(poolLimit(pool)).toBe(6);
  });
});

describe('pendingStatus', () => {
  it('says why the job waits and keeps lastTransitionTime while it keeps waiting', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const a = pendingStatus(undefined, 'PoolNotFound', 'no pool', t1, 1);
    expect(a.phase).toBe('Pending');
    expect(a.conditions?.[0]).toMatchObject({ type: 'Pending', status: 'True', reason: 'PoolNotFound', message: 'no pool', observedGeneration: 1 });
    const b = pendingStatus(a, 'PoolAtCapacity', 'full', new Date('2026-01-01T00:01:00Z'), 1);
    expect(b.conditions?.[0]).toMatchObject({ reason: 'PoolAtCapacity', lastTransitionTime: a.conditions?.[0]?.lastTransitionTime });
  });
});
