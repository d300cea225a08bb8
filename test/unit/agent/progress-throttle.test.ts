import { describe, expect, it } from 'vitest';
import { ProgressThrottle, type Progress } from '../../../src/agent/progress-throttle.js';
import { FakeClock } from '../kube/fake-clock.js';

function throttle(minIntervalMs = 2000) {
  const clock = new FakeClock();
  const sent: (Progress & { seq: number; at: number })[] = [];
  const t = new ProgressThrottle(clock, minIntervalMs, (p, seq) => sent.push({ ...p, seq, at: clock.now() }));
  return { clock, sent, t };
}

describe('progress throttle', () => {
  it('sends the first report at once and then at most one per interval, the newest winning', () => {
    const { clock, sent, t } = throttle(2000);
    const t0 = clock.now();
    t.report({ percent: 1, message: 'a' });
    expect(sent).toEqual([{ percent: 1, message: 'a', seq: 1, at: t0 }]);
    clock.advance(500);
    t.report({ percent: 2, message: 'b' });
    clock.advance(500);
    t.report({ percent: 3, message: 'c' });
    expect(sent).toHaveLength(1);
    clock.advance(999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent[1]).toEqual({ percent: 3, message: 'c', seq: 2, at: t0 + 2000 });
    expect(clock.pending).toBe(0);
    // A report after a quiet interval goes out at once.
    clock.advance(5000);
    t.report({ percent: 50, message: 'd' });
    expect(sent[2]).toMatchObject({ percent: 50, seq: 3, at: t0 + 7000 });
  });

  it('remembers the newest report with its time for the grace-period estimate', () => {
    const { clock, t } = throttle();
    expect(t.latest).toBeUndefined();
    t.report({ percent: 10, message: '' });
    clock.advance(100);
    t.report({ percent: 20, message: 'x' });
    expect(t.latest).toEqual({ percent: 20, message: 'x', at: clock.now() });
  });

  it('flush sends the unsent newest report once and cancels the pending send', () => {
    const { clock, sent, t } = throttle(2000);
    t.report({ percent: 1, message: 'a' });
    clock.advance(10);
    t.report({ percent: 90, message: 'z' });
    t.flush();
    expect(sent.map((s) => s.percent)).toEqual([1, 90]);
    clock.advance(10_000);
    t.flush();
    expect(sent).toHaveLength(2);
  });

  it('flush without any report sends nothing', () => {
    const { sent, t } = throttle();
    t.flush();
    expect(sent).toEqual([]);
  });
});
