import { describe, expect, it } from 'vitest';
import {
  InvalidJobMessageError,
  backoffDelayMs,
  consumerName,
  controlSubject,
  decodeJobEvent,
  decodeJobMessage,
  encodeJobEvent,
  encodeJobMessage,
  eventSubject,
  featuresForVersion,
  isOlderAttempt,
  jobEventMsgId,
  jobMsgId,
  jobSubject,
  olderDelivery,
  parseAckSubject,
  subjectToken,
  type JobEvent,
} from '../../../src/queue/index.js';

const base = { uid: 'u-1', namespace: 'ns', name: 'job.a', pool: 'gpu', publishedAt: '2026-01-01T00:00:00Z' };

describe('subjects', () => {
  it('encodes Kubernetes names as single tokens without collisions', () => {
    expect(jobSubject('ns', 'gpu.large')).toBe('visionq.jobs.ns.gpu~large');
    expect(eventSubject('ns', 'job.a')).toBe('visionq.events.ns.job~a');
    expect(consumerName('ns', 'gpu-a')).not.toBe(consumerName('ns-gpu', 'a'));
    expect(consumerName('ns', 'gpu.large')).toBe('visionq_ns_gpu~large');
    expect(controlSubject('ns', 'gpu.large', 'pod-1', 'drain')).toBe('visionq.control.ns.gpu~large.pod-1.drain');
    expect(subjectToken('a.b')).not.toBe(subjectToken('a-b'));
    expect(() => subjectToken('')).toThrow();
  });
});

describe('job messages', () => {
  it('round-trips with defaults filled in', () => {
    const m = decodeJobMessage(encodeJobMessage(base));
    expect(m).toMatchObject({ ...base, input: {}, args: [], env: {}, retries: 0, timeoutSeconds: 0, requeueGeneration: 0, permanentExitCodes: [] });
    expect(m.backoff).toEqual({ initialSeconds: 10, maxSeconds: 600, factor: 2 });
  });

  it('rejects malformed bytes and invalid fields with a named error', () => {
    expect(() => decodeJobMessage(new TextEncoder().encode('{nope'))).toThrow(InvalidJobMessageError);
    const bad = new TextEncoder().encode(JSON.stringify({ ...base, retries: -1 }));
    expect(() => decodeJobMessage(bad)).toThrow(/retries/);
  });

  it('uses uid as msgID, plus the generation when re-sent', () => {
    expect(jobMsgId({ uid: 'u', requeueGeneration: 0 })).toBe('u');
    expect(jobMsgId({ uid: 'u', requeueGeneration: 3 })).toBe('u/3');
  });

  it('computes exponential backoff capped at max', () => {
    const b = { initialSeconds: 10, maxSeconds: 60, factor: 2 };
    expect([1, 2, 3, 4, 5].map((f) => backoffDelayMs(b, f))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
  });
});

describe('job events', () => {
  const ev: JobEvent = {
    type: 'progress', jobUid: 'u', namespace: 'ns', name: 'j', pool: 'p', attempt: 2, deliveryCount: 3, streamSeq: 7,
    pod: 'pod', node: 'n', time: '2026-01-01T00:00:00Z', percent: 50, message: 'half', seq: 4,
  };
  it('round-trips and derives dedup ids per attempt and type', () => {
    expect(decodeJobEvent(encodeJobEvent(ev))).toEqual(ev);
    expect(jobEventMsgId(ev)).toBe('u/7/3/progress/4');
    expect(jobEventMsgId({ ...ev, type: 'cancelled', durationMs: 1 } as JobEvent)).toBe('u/7/3/cancelled');
  });
  it('orders attempts by stream sequence, then delivery count', () => {
    expect(isOlderAttempt(ev, { streamSeq: 7, deliveryCount: 4 })).toBe(true);
    expect(isOlderAttempt(ev, { streamSeq: 7, deliveryCount: 3 })).toBe(false);
    expect(isOlderAttempt(ev, { streamSeq: 9, deliveryCount: 1 })).toBe(true);
    expect(olderDelivery({ streamSeq: 9, deliveryCount: 1 }, { streamSeq: 7, deliveryCount: 5 })).toBe(false);
  });
  it('rejects events of unknown type', () => {
    expect(() => decodeJobEvent(new TextEncoder().encode(JSON.stringify({ ...ev, type: 'exploded' })))).toThrow();
  });
});

describe('server features and ack subjects', () => {
  it('keeps 2.10+/2.11+ features off on 2.9', () => {
    expect(featuresForVersion('2.9.10')).toMatchObject({ termReason: false, priorityGroups: false, perMessageTtl: false, multiFilter: false });
    expect(featuresForVersion('2.10.3')).toMatchObject({ multiFilter: true, termReason: false });
    expect(featuresForVersion('2.11.0')).toMatchObject({ termReason: true, priorityGroups: true, perMessageTtl: true });
  });
  it('parses ack subjects with and without domain', () => {
    expect(parseAckSubject('$JS.ACK.VISIONQ_JOBS.visionq_ns_p.2.15.20.1795449258118754040.0')).toEqual({
      stream: 'VISIONQ_JOBS', consumer: 'visionq_ns_p', deliveryCount: 2, streamSeq: 15,
    });
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.VISIONQ_JOBS.c.1.3.4.5.0.tok')).toMatchObject({ stream: 'VISIONQ_JOBS', consumer: 'c', streamSeq: 3 });
    expect(parseAckSubject('foo.bar')).toBeUndefined();
  });
});
