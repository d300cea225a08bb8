import { describe, expect, it } from 'vitest';
import { every } from '../../../src/lib/clock.js';
import { retry } from '../../../src/lib/retry.js';
import { FakeClock } from '../kube/fake-clock.js';

/** Runs `p` to the end, firing the fake clock's timers whenever it waits on one. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const out = p.finally(() => (done = true));
  out.catch(() => undefined);
  for (;;) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) return out;
    if (clock.pending === 0) throw new Error('retry neither finished nor waits on the clock');
    clock.advance(60_000);
  }
}

describe('retry', () => {
  it('retries until fn resolves, waiting jittered backoff delays between attempts', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    let calls = 0;
    const v = await drive(
      clock,
      retry(
        async (attempt) => {
          calls++;
          expect(attempt).toBe(calls);
          if (calls < 4) throw new Error('down');
          return 'ok';
        },
        { clock, backoff: { initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 }, onRetry: (_e, _a, d) => delays.push(d) },
      ),
    );
    expect(v).toBe('ok');
    // random() = 0 takes the low end of each jittered delay: half of 100, 200, 400.
    expect(delays).toEqual([50, 100, 200]);
  });

  it('throws the last error after `attempts` calls', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(
      async () => {
        calls++;
        throw new Error(`fail ${calls}`);
      },
      { clock, attempts: 3 },
    );
    await expect(drive(clock, p)).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('rethrows at once when shouldRetry says no', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(
      async () => {
        calls++;
        throw new Error(calls === 2 ? 'fatal' : 'transient');
      },
      { clock, shouldRetry: (err) => (err as Error).message !== 'fatal' },
    );
    await expect(drive(clock, p)).rejects.toThrow('fatal');
    expect(calls).toBe(2);
  });
});

describe('every', () => {
  it('repeats through the clock until stopped', () => {
    const clock = new FakeClock();
    let n = 0;
    const stop = every(clock, 100, () => n++);
    clock.advance(350);
    expect(n).toBe(3);
    stop();
    clock.advance(1000);
    expect(n).toBe(3);
    expect(clock.pending).toBe(0);
  });
});
