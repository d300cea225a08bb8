import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../../src/queue/job-events.js';
import { applyJobEvent } from '../../../../src/controller/jobevents/job-event-reducer.js';
import { getCondition } from '../../../../src/api/conditions.js';
import type { VisionJobStatus } from '../../../../src/controller/visionjob/visionjob-status.js';

const now = new Date('2026-01-01T00:00:10Z');
const base = {
  jobUid: 'u1',
  namespace: 'ns',
  name: 'j',
  pool: 'gpu',
  attempt: 1,
  deliveryCount: 1,
  streamSeq: 7,
  pod: 'w-1',
  node: 'n-1',
  time: '2026-01-01T00:00:05Z',
};
const started = (over: Partial<typeof base> = {}): JobEvent => ({
  ...base,
  ...over,
  type: 'started',
  ackSubject: '$JS.ACK.x',
  deadline: null,
  failures: 0,
});
const queued: VisionJobStatus = { phase: 'Queued', queuedAt: '2026-01-01T00:00:00Z', queueSequence: 7 };

function run(status: VisionJobStatus | undefined, ...events: JobEvent[]): VisionJobStatus {
  let s = status;
  for (const ev of events) s = applyJobEvent(s, ev, { now }).status;
  return s ?? {};
}

describe('applyJobEvent', () => {
  it('started makes the job Running with the current attempt and a Started event', () => {
    const r = applyJobEvent(queued, started(), { now });
    expect(r.kind).toBe('transition');
    expect(r.status.phase).toBe('Running');
    expect(r.status.attempts).toBe(1);
    expect(r.status.startTime).toBe(base.time);
    expect(r.status.currentAttempt).toMatchObject({ pod: 'w-1', node: 'n-1', ackSubject: '$JS.ACK.x', deliveryCount: 1, streamSeq: 7 });
    expect(getCondition(r.status.conditions, 'Running')?.status).toBe('True');
    expect(r.events.map((e) => e.reason)).toEqual(['Started']);
    expect(r.firstStart).toBe(true);
  });

  it('is idempotent: a duplicate started changes nothing', () => {
    const once = run(queued, started());
    const r = applyJobEvent(once, started(), { now });
    expect(r.ignored).toBeDefined();
    expect(r.status).toEqual(once);
  });

  it('succeeded records result, completion time and the Succeeded condition', () => {
    const s = run(queued, started(), { ...base, type: 'succeeded', result: { frames: 3 }, durationMs: 10, time: '2026-01-01T00:00:09Z' });
    expect(s.phase).toBe('Succeeded');
    expect(s.result).toEqual({ frames: 3 });
    expect(s.completionTime).toBe('2026-01-01T00:00:09Z');
    expect(getCondition(s.conditions, 'Succeeded')).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(getCondition(s.conditions, 'Running')?.status).toBe('False');
  });

  it('a retryable failure counts a failure once and goes back to Queued; a duplicate does not count twice', () => {
    const failed: JobEvent = { ...base, type: 'failed', reason: 'exit', exitCode: 1, retryable: true, willRetry: true, nextDelayMs: 2000, failures: 1, durationMs: 5 };
    const r = applyJobEvent(run(queued, started()), failed, { now });
    expect(r.status.phase).toBe('Queued');
    expect(r.status.failures).toBe(1);
    expect(r.retried).toBe(true);
    expect(r.events[0]).toMatchObject({ type: 'Warning', reason: 'Retrying' });
    const again = applyJobEvent(r.status, failed, { now });
    expect(again.ignored).toBeDefined();
    expect(again.status.failures).toBe(1);
  });

  it('a permanent failure fails the job with the exit code in the condition', () => {
    const s = run(queued, started(), { ...base, type: 'failed', reason: 'permanent exit code', exitCode: 3, retryable: false, willRetry: false, failures: 1, durationMs: 5 });
    expect(s.phase).toBe('Failed');
    const c = getCondition(s.conditions, 'Failed');
    expect(c).toMatchObject({ status: 'True', reason: 'PermanentFailure' });
    expect(c?.message).toContain('exit code 3');
  });

  it('ignores events of an older attempt but opens a newer one even without its started event', () => {
    const s1 = run(queued, started(), { ...base, type: 'requeued', reason: 'sigterm' });
    expect(s1.disruptions).toBe(1);
    expect(s1.phase).toBe('Queued');
    const s2 = run(s1, { ...base, deliveryCount: 2, attempt: 2, pod: 'w-2', type: 'progress', percent: 40, message: 'half', seq: 1 });
    expect(s2.phase).toBe('Running');
    expect(s2.currentAttempt).toMatchObject({ pod: 'w-2', deliveryCount: 2 });
    expect(s2.progress).toEqual({ percent: 40, message: 'half' });
    const stale = applyJobEvent(s2, { ...base, type: 'failed', reason: 'exit', exitCode: 1, retryable: true, willRetry: true, failures: 1, durationMs: 1 }, { now });
    expect(stale.ignored).toBe('event of an older attempt');
    expect(stale.status.failures ?? 0).toBe(0);
  });

  it("keeps the attempt's own final verdict when the controller re-queued it for a vanished pod first", () => {
    // The agent termed the message and published `failed`, then its pod was deleted before the
    // controller applied that event: the controller's re-queue must not swallow the verdict.
    const requeuedByController: VisionJobStatus = {
      ...run(queued, started()),
      phase: 'Queued',
      disruptions: 1,
    };
    requeuedByController.currentAttempt = { ...requeuedByController.currentAttempt!, ended: 'requeued', requeuedForPod: 'w-1' };
    const permanent: JobEvent = { ...base, type: 'failed', reason: 'permanent exit code', exitCode: 3, retryable: false, willRetry: false, failures: 1, durationMs: 5 };
    expect(applyJobEvent(requeuedByController, permanent, { now }).status.phase).toBe('Failed');
    // A failure that will be retried keeps the job Queued but still counts the failure.
    const retrying: JobEvent = { ...permanent, retryable: true, willRetry: true, exitCode: 1, nextDelayMs: 1000 };
    const r = applyJobEvent(requeuedByController, retrying, { now });
    expect(r.status.phase).toBe('Queued');
    expect(r.status.failures).toBe(1);
    // The agent's own re-queue is not provisional: a later event of that attempt is ignored.
    const byAgent = run(queued, started(), { ...base, type: 'requeued', reason: 'sigterm' });
    expect(applyJobEvent(byAgent, permanent, { now }).ignored).toBe('attempt already requeued');
  });

  it('a disruption reported twice (agent and pod death) counts once', () => {
    const s = run(queued, started(), { ...base, type: 'requeued', reason: 'sigterm' }, { ...base, type: 'requeued', reason: 'controller' });
    expect(s.disruptions).toBe(1);
  });

  it('accepts a confirmed success of a superseded attempt, and nothing after a terminal phase', () => {
    const s = run(queued, started(), started({ deliveryCount: 2, attempt: 2, pod: 'w-2' }));
    const r = applyJobEvent(s, { ...base, type: 'succeeded', durationMs: 1 }, { now });
    expect(r.status.phase).toBe('Succeeded');
    // The newer attempt is still running: the consumer stops it.
    expect(r.supersededRun).toEqual({ pod: 'w-2', attempt: 2 });
    const own = applyJobEvent(s, { ...base, deliveryCount: 2, attempt: 2, pod: 'w-2', type: 'succeeded', durationMs: 1 }, { now });
    expect(own.supersededRun).toBeUndefined();
    const late = applyJobEvent(r.status, started({ deliveryCount: 3, attempt: 3 }), { now });
    expect(late.ignored).toContain('Succeeded');
  });

  it('progress and heartbeat are throttle-able kinds', () => {
    const s = run(queued, started());
    expect(applyJobEvent(s, { ...base, type: 'progress', percent: 10, message: '', seq: 1 }, { now }).kind).toBe('progress');
    expect(applyJobEvent(s, { ...base, type: 'heartbeat' }, { now }).kind).toBe('heartbeat');
  });
});
