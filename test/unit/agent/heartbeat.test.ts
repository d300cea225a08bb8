import { describe, expect, it } from 'vitest';
import { Heartbeat, workingIntervalMs, type HeartbeatDeps } from '../../../src/agent/heartbeat.js';
import { FakeClock } from '../kube/fake-clock.js';

/** Lets the promise callbacks of a tick run (no time passes). */
const settle = () => new Promise<void>((r) => setImmediate(r));

function heartbeat(over: Partial<HeartbeatDeps> = {}) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const hb = new Heartbeat({
    clock,
    ackWaitMs: 3000,
    eventIntervalMs: 10_000,
    isSuperseded: async () => false,
    onSuperseded: () => calls.push('superseded'),
    working: () => calls.push('working'),
    publishEvent: () => calls.push('event'),
    ...over,
  });
  return { clock, calls, hb };
}

describe('heartbeat', () => {
  it('sends working() three times per ack_wait, never more often than every 100 ms', () => {
    expect(workingIntervalMs(30_000)).toBe(10_000);
    expect(workingIntervalMs(3000)).toBe(1000);
    expect(workingIntervalMs(100)).toBe(100);
  });

  it('beats working() every interval and a heartbeat event every event interval until stopped', async () => {
    const { clock, calls, hb } = heartbeat();
    hb.start();
    hb.start(); // a second start must not double the timers
    clock.advance(999);
    await settle();
    expect(calls).toEqual([]);
    clock.advance(1);
    await settle();
    expect(calls).toEqual(['working']);
    for (let i = 0; i < 9; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(calls.filter((c) => c === 'working')).toHaveLength(10);
    expect(calls.filter((c) => c === 'event')).toHaveLength(1);
    hb.stop();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    await settle();
    expect(calls).toHaveLength(11);
  });

  it('stops the attempt instead of beating when a newer delivery claimed the job', async () => {
    let superseded = false;
    const { clock, calls, hb } = heartbeat({ isSuperseded: async () => superseded });
    hb.start();
    clock.advance(1000);
    await settle();
    superseded = true;
    clock.advance(1000);
    await settle();
    expect(calls).toEqual(['working', 'superseded']);
    hb.stop();
  });

  it('keeps beating while the attempt store cannot be read (NATS down)', async () => {
    const { calls, hb } = heartbeat({
      isSuperseded: async () => {
        throw new Error('no connection');
      },
    });
    await hb.tick();
    await hb.tick();
    expect(calls).toEqual(['working', 'working']);
  });

  it('while settling beats only working(), with no supersession check and no events, until stopped', async () => {
    let checks = 0;
    const { clock, calls, hb } = heartbeat({
      isSuperseded: async () => {
        checks++;
        return true;
      },
    });
    hb.start();
    hb.settling();
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(calls).toEqual(Array.from({ length: 20 }, () => 'working'));
    expect(checks).toBe(0);
    hb.stop();
    expect(clock.pending).toBe(0);
  });
});
