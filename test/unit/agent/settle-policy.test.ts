import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../../src/agent/job-runner.js';
import { ackActionFor, decideRetry, failureDecision, permanentCodesFor, settlementOf } from '../../../src/agent/settle-policy.js';

const res = (o: Partial<AttemptResult>): AttemptResult => ({ exitCode: null, signal: null, timedOut: false, durationMs: 10, ...o });
const job = { retries: 2, backoff: { initialSeconds: 1, maxSeconds: 3, factor: 2 }, permanentExitCodes: [7] };

describe('settle policy', () => {
  it('retries while failures <= retries and max_deliver leaves room', () => {
    const job = { retries: 2, backoff: { initialSeconds: 1, maxSeconds: 3, factor: 2 } };
    expect(decideRetry(job, 1, 1, -1)).toEqual({ willRetry: true, nextDelayMs: 1000 });
    expect(decideRetry(job, 2, 2, -1)).toEqual({ willRetry: true, nextDelayMs: 2000 });
    expect(decideRetry(job, 3, 3, -1)).toEqual({ willRetry: false });
    expect(decideRetry(job, 1, 5, 5)).toEqual({ willRetry: false });
  });

  it('a superseded attempt never acks, whatever its outcome', () => {
    for (const r of [res({ exitCode: 0 }), res({ killedBy: 'cancel' }), res({ exitCode: 1 })]) {
      const s = settlementOf(r, true, new Set());
      expect(s).toEqual({ kind: 'superseded' });
      expect(ackActionFor(s, { termReason: true })).toEqual({ op: 'none' });
    }
    expect(settlementOf(res({ exitCode: 0, killedBy: 'superseded' }), false, new Set())).toEqual({ kind: 'superseded' });
  });

  it("the agent's own kill wins over the exit code it caused", () => {
    const cancelled = settlementOf(res({ signal: 'SIGTERM', killedBy: 'cancel' }), false, new Set());
    expect(cancelled).toEqual({ kind: 'cancelled' });
    expect(ackActionFor(cancelled, { termReason: true })).toEqual({ op: 'term', reason: 'cancelled' });
    // nats-server < 2.11 does not understand a +TERM reason.
    expect(ackActionFor(cancelled, { termReason: false })).toEqual({ op: 'term', reason: undefined });
    for (const killedBy of ['requeue', 'shutdown'] as const) {
      const s = settlementOf(res({ exitCode: 0, killedBy }), false, new Set());
      expect(s).toEqual({ kind: 'requeued' });
      expect(ackActionFor(s, { termReason: true })).toEqual({ op: 'nak', delayMs: 0 });
    }
  });

  it('success acks; a failure naks after the backoff while it may retry and terms when it may not', () => {
    const ok = settlementOf(res({ exitCode: 0 }), false, new Set());
    expect(ackActionFor(ok, { termReason: false })).toEqual({ op: 'ack' });
    const failed = settlementOf(res({ exitCode: 1 }), false, new Set());
    expect(failed).toEqual({ kind: 'failed', reason: 'exit code 1', retryable: true });
    if (failed.kind !== 'failed') throw new Error('unreachable');
    const retry = failureDecision(failed, job, 2, 2, -1);
    expect(retry).toEqual({ willRetry: true, nextDelayMs: 2000 });
    expect(ackActionFor(failed, { termReason: true, retry })).toEqual({ op: 'nak', delayMs: 2000 });
    const last = failureDecision(failed, job, 3, 3, -1);
    expect(ackActionFor(failed, { termReason: true, retry: last })).toEqual({ op: 'term' });
  });

  it("a permanent exit code (the agent's or the job's) never retries", () => {
    const codes = permanentCodesFor([3], job);
    expect([...codes].sort()).toEqual([3, 7]);
    for (const exitCode of [3, 7]) {
      const s = settlementOf(res({ exitCode }), false, codes);
      expect(s).toMatchObject({ kind: 'failed', retryable: false });
      if (s.kind !== 'failed') throw new Error('unreachable');
      const d = failureDecision(s, job, 1, 1, -1);
      expect(d).toEqual({ willRetry: false });
      expect(ackActionFor(s, { termReason: true, retry: d })).toEqual({ op: 'term' });
    }
  });
});
