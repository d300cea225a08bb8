import { describe, expect, it } from 'vitest';
import { ItemExponentialRateLimiter } from '../../../src/kube/rate-limiter.js';
import { WorkQueue } from '../../../src/kube/work-queue.js';
import { FakeClock } from './fake-clock.js';

describe('WorkQueue', () => {
  it('queues a key once however often it is added, in FIFO order', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.len()).toBe(0);
  });

  it('never hands a key to two workers; a re-add while processing is queued after done()', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    const k = await q.get();
    expect(k).toBe('ns/a');
    q.add('ns/a');
    q.add('ns/a');
    expect(q.len()).toBe(0);
    // A second worker waits although the key is dirty: it must not get it while in flight.
    let second: string | undefined;
    const waiting = q.get().then((k) => (second = k));
    await new Promise((r) => setImmediate(r));
    expect(second).toBeUndefined();
    q.done('ns/a');
    expect(await waiting).toBe('ns/a');
    q.done('ns/a');
    expect(q.len()).toBe(0);
  });

  it('wakes a waiting get() when a key arrives', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const pending = q.get();
    q.add('ns/x');
    expect(await pending).toBe('ns/x');
    expect(q.isProcessing('ns/x')).toBe(true);
  });

  it('addAfter delivers after the delay; the earliest of several delays wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('ns/a', 1000);
    q.addAfter('ns/a', 300);
    q.addAfter('ns/a', 5000);
    clock.advance(299);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('ns/a');
    q.done('ns/a');
    clock.advance(10_000);
    expect(q.len()).toBe(0);
  });

  it('addRateLimited backs off per key exponentially; forget resets it', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000) });
    q.addRateLimited('ns/a'); // 5 ms
    clock.advance(4);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.numRequeues('ns/a')).toBe(1);
    q.addRateLimited('ns/b');
    q.addRateLimited('ns/b'); // a second failure of b: 10 ms, but the 5 ms add is earlier
    expect(q.numRequeues('ns/b')).toBe(2);
    q.forget('ns/a');
    expect(q.numRequeues('ns/a')).toBe(0);
  });

  it('honours a minimum delay (Retry-After) over the backoff', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000) });
    q.addRateLimited('ns/a', 2000);
    clock.advance(1999);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('shutDown releases waiting workers and refuses new keys and delayed adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter('ns/later', 100);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('ns/a');
    clock.advance(1000);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('shutDownWithDrain waits for keys in flight', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    const k = await q.get();
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    q.done(k!);
    await drain;
    expect(drained).toBe(true);
  });

  it('reports depth changes', () => {
    const depths: number[] = [];
    const q = new WorkQueue({ clock: new FakeClock(), onDepthChange: (d) => depths.push(d) });
    q.add('a');
    q.add('b');
    void q.get();
    expect(depths).toEqual([1, 2, 1]);
  });
});
