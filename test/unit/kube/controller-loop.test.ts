import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { runController, type ReconcileObservation } from '../../../src/kube/controller-loop.js';
import { ItemExponentialRateLimiter } from '../../../src/kube/rate-limiter.js';
import { WorkQueue } from '../../../src/kube/work-queue.js';
import { FakeClock } from './fake-clock.js';

const flush = () => new Promise((r) => setImmediate(r));

function setup(reconcile: (key: string) => Promise<unknown>) {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000) });
  const seen: ReconcileObservation[] = [];
  const ctl = runController({
    name: 'test',
    queue,
    workers: 2,
    reconcile: async (key) => (await reconcile(key)) as void,
    metrics: { onReconcile: (o) => seen.push(o) },
  });
  return { clock, queue, seen, ctl };
}

describe('runController', () => {
  it('forgets a key after success and honours requeueAfter', async () => {
    const calls: string[] = [];
    const { clock, queue, seen, ctl } = setup(async (key) => {
      calls.push(key);
      return calls.length === 1 ? { requeueAfterMs: 1000 } : undefined;
    });
    queue.add('ns/a');
    await flush();
    expect(calls).toEqual(['ns/a']);
    clock.advance(1000);
    await flush();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    expect(seen.map((o) => o.outcome)).toEqual(['success', 'success']);
    expect(queue.numRequeues('ns/a')).toBe(0);
    await ctl.stop();
  });

  it('backs off on server errors, retries conflicts at once, drops not-found', async () => {
    const errors: Record<string, unknown[]> = {
      'ns/server': [new ApiException(500, 'boom', '', {})],
      'ns/conflict': [new ApiException(409, 'stale', '', {})],
      'ns/gone': [new ApiException(404, 'gone', '', {})],
    };
    const calls: string[] = [];
    const { clock, queue, seen, ctl } = setup(async (key) => {
      calls.push(key);
      const e = errors[key]?.shift();
      if (e) throw e;
    });
    for (const k of Object.keys(errors)) queue.add(k);
    await flush();
    await flush();
    // conflict retried immediately, server error waits for its 5 ms backoff, not-found is done
    expect(calls.filter((k) => k === 'ns/conflict')).toHaveLength(2);
    expect(calls.filter((k) => k === 'ns/server')).toHaveLength(1);
    expect(calls.filter((k) => k === 'ns/gone')).toHaveLength(1);
    expect(queue.numRequeues('ns/server')).toBe(1);
    clock.advance(5);
    await flush();
    expect(calls.filter((k) => k === 'ns/server')).toHaveLength(2);
    expect(queue.numRequeues('ns/server')).toBe(0);
    clock.advance(100_000);
    await flush();
    expect(calls.filter((k) => k === 'ns/gone')).toHaveLength(1);
    const byKey = (k: string) => seen.filter((o) => o.key === k).map((o) => o.errorClass ?? o.outcome);
    expect(byKey('ns/server')).toEqual(['server', 'success']);
    expect(byKey('ns/gone')).toEqual(['not-found']);
    await ctl.stop();
  });

  it('waits at least Retry-After when throttled and does not retry invalid requests blindly', async () => {
    let throttled = true;
    const calls: string[] = [];
    const { clock, queue, ctl } = setup(async (key) => {
      calls.push(key);
      if (key === 'ns/bad') throw new ApiException(422, 'invalid', '', {});
      if (throttled) {
        throttled = false;
        throw new ApiException(429, 'slow down', '', { 'retry-after': '1' });
      }
    });
    queue.add('ns/t');
    queue.add('ns/bad');
    await flush();
    clock.advance(999);
    await flush();
    expect(calls.filter((k) => k === 'ns/t')).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(calls.filter((k) => k === 'ns/t')).toHaveLength(2);
    clock.advance(2_000_000);
    await flush();
    expect(calls.filter((k) => k === 'ns/bad')).toHaveLength(1);
    await ctl.stop();
  });

  it('never runs one key on two workers at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { queue, ctl } = setup(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate;
      inFlight--;
    });
    queue.add('ns/a');
    await flush();
    queue.add('ns/a');
    await flush();
    expect(maxInFlight).toBe(1);
    release();
    await flush();
    await flush();
    expect(maxInFlight).toBe(1);
    await ctl.stop({ drain: true });
  });

  it('stops its workers when the signal aborts', async () => {
    const ac = new AbortController();
    const queue = new WorkQueue({ clock: new FakeClock() });
    const ctl = runController({ name: 't', queue, workers: 3, reconcile: async () => {}, signal: ac.signal });
    ac.abort();
    await ctl.done;
    expect(queue.isShuttingDown).toBe(true);
  });
});
