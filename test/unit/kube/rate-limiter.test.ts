import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/lib/backoff.js';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
} from '../../../src/kube/rate-limiter.js';
import { FakeClock } from './fake-clock.js';

describe('ItemExponentialRateLimiter', () => {
  it('doubles per failure from 5 ms and caps at 1000 s', () => {
    const l = new ItemExponentialRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 5 }, () => l.when('k'));
    expect(delays).toEqual([5, 10, 20, 40, 80]);
    for (let i = 0; i < 100; i++) l.when('k');
    expect(l.when('k')).toBe(1_000_000);
    expect(l.when('other')).toBe(5);
    l.forget('k');
    expect(l.when('k')).toBe(5);
  });
});

describe('BucketRateLimiter', () => {
  it('allows a burst, then spaces requests at qps, and refills over time', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter(10, 3, clock);
    expect([l.when(), l.when(), l.when()]).toEqual([0, 0, 0]);
    expect(l.when()).toBe(100);
    expect(l.when()).toBe(200);
    clock.advance(10_000);
    expect(l.when()).toBe(0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('takes the longer of the per-key backoff and the global bucket', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter({ clock, qps: 10, burst: 2 });
    expect(l.when('a')).toBe(5);
    expect(l.when('b')).toBe(5);
    expect(l.when('c')).toBe(100); // bucket empty: 100 ms > 5 ms
    expect(l.numRequeues('a')).toBe(1);
  });
});

describe('Backoff', () => {
  it('grows exponentially to the cap without jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect(Array.from({ length: 6 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('jitters within [base·(1−j), base] using the injected random', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.5, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.5, random: () => 0.999999 });
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1000);
    for (let i = 0; i < 20; i++) expect(high.next()).toBeLessThanOrEqual(10_000);
  });
});
