import { describe, expect, it } from 'vitest';
import { ConsumerLimits, CONSUMER_SETTINGS_TTL_MS } from '../../../src/agent/consumer-limits.js';
import { FakeClock } from '../kube/fake-clock.js';

describe('consumer limits', () => {
  it('re-reads the consumer settings once the cached value is older than the TTL', async () => {
    const clock = new FakeClock();
    let server = 5;
    let reads = 0;
    const limits = new ConsumerLimits(async () => (reads++, { maxDeliver: server, ackWaitMs: 1000 }), { maxDeliver: 5, ackWaitMs: 2000 }, clock);
    server = 9;
    expect(await limits.maxDeliver()).toBe(5);
    expect(reads).toBe(0);
    clock.advance(CONSUMER_SETTINGS_TTL_MS);
    expect(await limits.maxDeliver()).toBe(9);
    expect(await limits.maxDeliver()).toBe(9);
    expect(reads).toBe(1);
    expect(limits.current).toEqual({ maxDeliver: 9, ackWaitMs: 1000 });
  });

  it('keeps the last known value when the consumer cannot be read', async () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const limits = new ConsumerLimits(async () => Promise.reject(new Error('timeout')), { maxDeliver: 7, ackWaitMs: 1000 }, clock, (e) => errors.push(e));
    clock.advance(CONSUMER_SETTINGS_TTL_MS + 1);
    expect(await limits.maxDeliver()).toBe(7);
    expect(errors).toHaveLength(1);
  });
});
