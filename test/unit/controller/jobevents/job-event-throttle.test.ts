import { describe, expect, it } from 'vitest';
import { JobEventThrottle } from '../../../../src/controller/jobevents/job-event-throttle.js';
import type { JobEvent } from '../../../../src/queue/job-events.js';

const base = { jobUid: 'u', namespace: 'ns', name: 'j', pool: 'p', attempt: 1, deliveryCount: 1, streamSeq: 1, pod: 'w', node: 'n', time: 't' };
const progress = (percent: number): Extract<JobEvent, { type: 'progress' }> => ({ ...base, type: 'progress', percent, message: '', seq: percent });
const heartbeat = (): Extract<JobEvent, { type: 'heartbeat' }> => ({ ...base, type: 'heartbeat' });

function fakeTime() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer: (h: unknown) => {
      const i = timers.indexOf(h as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms: number) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    },
  };
}

describe('JobEventThrottle', () => {
  it('writes the first progress at once, holds the next ones and flushes the newest after the window', () => {
    const time = fakeTime();
    const flushed: number[] = [];
    const th = new JobEventThrottle((_k, ev) => flushed.push(ev.type === 'progress' ? ev.percent : -1), { progressMs: 2000, ...time });
    expect(th.admit('a', progress(10))).toBe(true);
    th.wrote('a', 'progress');
    time.advance(500);
    expect(th.admit('a', progress(20))).toBe(false);
    expect(th.admit('a', progress(30))).toBe(false);
    expect(flushed).toEqual([]);
    time.advance(1500);
    expect(flushed).toEqual([30]);
  });

  it('limits heartbeat writes separately and never lets a heartbeat replace pending progress', () => {
    const time = fakeTime();
    const flushed: string[] = [];
    const th = new JobEventThrottle((_k, ev) => flushed.push(ev.type), { progressMs: 2000, heartbeatMs: 30_000, ...time });
    expect(th.admit('a', heartbeat())).toBe(true);
    th.wrote('a', 'heartbeat');
    time.advance(1000);
    expect(th.admit('a', heartbeat())).toBe(false);
    time.advance(1000);
    expect(flushed).toEqual([]);
    th.wrote('a', 'progress');
    time.advance(500);
    expect(th.admit('a', progress(50))).toBe(false);
    expect(th.admit('a', heartbeat())).toBe(false);
    // The progress window (2 s after the last progress write) ends long before the heartbeat one.
    time.advance(1500);
    expect(flushed).toEqual(['progress']);
  });

  it('keeps jobs independent', () => {
    const time = fakeTime();
    const th = new JobEventThrottle(() => undefined, { ...time });
    expect(th.admit('a', progress(1))).toBe(true);
    th.wrote('a', 'progress');
    expect(th.admit('b', progress(1))).toBe(true);
    th.forget('a');
    expect(th.size).toBe(1);
  });

  it('holds the first progress after a transition for a window, and drops it when the job ends first', () => {
    const time = fakeTime();
    const flushed: number[] = [];
    const th = new JobEventThrottle((_k, ev) => flushed.push(ev.type === 'progress' ? ev.percent : -1), { progressMs: 2000, ...time });
    th.wrote('a', 'transition'); // Running
    time.advance(100);
    expect(th.admit('a', progress(25))).toBe(false);
    time.advance(300);
    th.forget('a'); // Succeeded: the transition carries the final status
    time.advance(5000);
    expect(flushed).toEqual([]);
    // A long job gets its progress once the window after Running ends.
    th.wrote('b', 'transition');
    expect(th.admit('b', progress(10))).toBe(false);
    time.advance(2000);
    expect(flushed).toEqual([10]);
  });
});
