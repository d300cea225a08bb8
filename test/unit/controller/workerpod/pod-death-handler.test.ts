import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { CurrentAttempt, JobPhase } from '../../../../src/api/vision-job.js';
import type { VisionJobObject } from '../../../../src/controller/manager/context-types.js';
import { PodDeathHandler } from '../../../../src/controller/workerpod/pod-death-handler.js';
import { makeJob } from '../../../helpers/builders.js';

type Job = VisionJobObject;

const job = (name: string, phase: JobPhase, pod?: string, extra: Partial<CurrentAttempt> = {}): Job => {
  const b = makeJob(name).namespace('ns').pool('gpu').phase(phase);
  return (pod ? b.attempt(pod, { attempt: 1, deliveryCount: 1, startedAt: new Date(0).toISOString(), ...extra }) : b).obj();
};

describe('PodDeathHandler', () => {
  it('re-queues every Running job of a dead pod once, and nothing else', async () => {
    const jobs = [job('a', 'Running', 'w1'), job('b', 'Running', 'w1'), job('c', 'Queued', 'w1'), job('d', 'Running', 'w2'), job('e', 'Running', 'w1', { requeuedForPod: 'w1' })];
    const calls: string[] = [];
    const h = new PodDeathHandler<Job>(() => jobs, async (j, p) => void calls.push(`${j.metadata.name}@${p}`), pino({ level: 'silent' }));
    await h.podDied('ns', 'w1', 'deleted');
    await h.podDied('ns', 'w1', 'deleted again');
    await h.podDied('other', 'w2', 'wrong namespace');
    expect(calls.sort()).toEqual(['a@w1', 'b@w1']);
  });

  it('retries after a failed re-queue and re-queues a later attempt on the same pod again', async () => {
    const jobs = [job('a', 'Running', 'w1')];
    let fail = true;
    const calls: string[] = [];
    const h = new PodDeathHandler<Job>(
      () => jobs,
      async (j) => {
        calls.push(j.metadata.name!);
        if (fail) throw new Error('nats down');
      },
      pino({ level: 'silent' }),
    );
    await h.podDied('ns', 'w1', 'x');
    fail = false;
    await h.podDied('ns', 'w1', 'x');
    await h.podDied('ns', 'w1', 'x');
    jobs[0] = job('a', 'Running', 'w1', { attempt: 2, deliveryCount: 2 });
    await h.podDied('ns', 'w1', 'x');
    expect(calls).toEqual(['a', 'a', 'a']);
  });

  it('sweeps Running jobs whose pod no longer exists, after a short grace for young attempts', async () => {
    let now = 100_000;
    const jobs = [
      job('old', 'Running', 'gone-1'),
      job('young', 'Running', 'gone-2', { startedAt: new Date(95_000).toISOString() }),
      job('alive', 'Running', 'here'),
    ];
    const calls: string[] = [];
    const h = new PodDeathHandler<Job>(() => jobs, async (j) => void calls.push(j.metadata.name!), pino({ level: 'silent' }), () => now);
    const recheck = h.sweep('ns', 'gpu', (p) => p === 'here', 10_000);
    expect(recheck).toBe(5_000);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['old']);
    now = 106_000;
    expect(h.sweep('ns', 'gpu', (p) => p === 'here', 10_000)).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['old', 'young']);
  });
});
