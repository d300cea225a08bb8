import { describe, expect, it } from 'vitest';
import { earlierRequeue, notBeforeMessage, notBeforeMs, splitByNotBefore } from '../../../../src/controller/admission/not-before.js';
import { makeJob } from '../../../helpers/builders.js';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('notBefore', () => {
  it('parses RFC 3339 and ignores an absent field', () => {
    expect(notBeforeMs(makeJob('a').notBefore('2026-01-01T00:00:05Z').obj())).toBe(now + 5000);
    expect(notBeforeMs(makeJob('b').obj())).toBeUndefined();
  });

  it.each([
    { name: 'no notBefore is ready', at: undefined, delayed: false },
    { name: 'a past time is ready', at: now - 1, delayed: false },
    { name: 'exactly now is ready', at: now, delayed: false },
    { name: 'a future time is delayed', at: now + 1, delayed: true },
  ])('$name', ({ at, delayed }) => {
    const b = makeJob('j');
    if (at !== undefined) b.notBefore(at);
    const split = splitByNotBefore([b.obj()], now);
    expect(split.delayed.length).toBe(delayed ? 1 : 0);
    expect(split.ready.length).toBe(delayed ? 0 : 1);
    expect(split.nextInMs).toBe(delayed ? 1 : undefined);
  });

  it('the next pass is due when the earliest delayed job is', () => {
    const split = splitByNotBefore(
      [makeJob('a').notBefore(now + 9000).obj(), makeJob('b').notBefore(now + 2000).obj(), makeJob('c').obj()],
      now,
    );
    expect(split.ready.map((j) => j.metadata.name)).toEqual(['c']);
    expect(split.delayed.map((d) => d.job.metadata.name)).toEqual(['a', 'b']);
    expect(split.nextInMs).toBe(2000);
  });

  it('the message names the time and does not change between passes', () => {
    expect(notBeforeMessage(now + 5000)).toContain('2026-01-01T00:00:05.000Z');
  });

  it('earlierRequeue keeps the sooner delay', () => {
    expect(earlierRequeue(undefined, 5)).toBe(5);
    expect(earlierRequeue(7, undefined)).toBe(7);
    expect(earlierRequeue(30_000, 1500)).toBe(1500);
    expect(earlierRequeue(undefined, undefined)).toBeUndefined();
  });
});
