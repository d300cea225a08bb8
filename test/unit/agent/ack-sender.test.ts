import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { AckSender } from '../../../src/agent/ack-sender.js';
import { FakeClock } from '../kube/fake-clock.js';

/** Runs `p` to the end, firing the fake clock's timers whenever it waits on one. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const out = p.finally(() => (done = true));
  for (;;) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) return out;
    if (clock.pending === 0) throw new Error('neither finished nor waits on the clock');
    clock.advance(60_000);
  }
}

function sender(opts: { closed?: () => boolean; stopping?: () => boolean } = {}) {
  const clock = new FakeClock();
  // Only isClosed() of the connection is used by the sender itself.
  const nc = { isClosed: opts.closed ?? (() => false) } as unknown as NatsConnection;
  return { clock, acks: new AckSender({ nc, clock, log: pino({ level: 'silent' }), stopping: opts.stopping ?? (() => false) }) };
}

const failing = (errs: unknown[]) => {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    op: async () => {
      const e = errs[calls++];
      if (e) throw e;
    },
  };
};

describe('ack sender', () => {
  it('retries a confirmed ack across timeouts until the server confirms it', async () => {
    const { clock, acks } = sender();
    const f = failing([new TimeoutError(), new TimeoutError()]);
    expect(await drive(clock, acks.confirmed(f.op, { jobUid: 'u', isSuperseded: async () => false }))).toBe(true);
    expect(f.calls).toBe(3);
  });

  it('retries "no responders" through a consumer leader election, and gives up once the grace is over (consumer gone)', async () => {
    const noResponders = () => new RequestError("no responders: '$JS.ACK.x'", { cause: new NoRespondersError('$JS.ACK.x') });
    const election = sender();
    const f1 = failing([noResponders()]);
    expect(await drive(election.clock, election.acks.confirmed(f1.op, { jobUid: 'u', isSuperseded: async () => false }))).toBe(true);
    expect(f1.calls).toBe(2);
    const gone = sender();
    const f2 = failing(Array.from({ length: 50 }, noResponders));
    // drive() moves the clock 60 s per wait, past the 30 s grace: the second refusal ends it.
    expect(await drive(gone.clock, gone.acks.confirmed(f2.op, { jobUid: 'u', isSuperseded: async () => false }))).toBe(false);
    expect(f2.calls).toBe(2);
  });

  it('gives up when a newer attempt took over during the outage', async () => {
    const { clock, acks } = sender();
    const f = failing([new TimeoutError(), new TimeoutError()]);
    expect(await drive(clock, acks.confirmed(f.op, { jobUid: 'u', isSuperseded: async () => true }))).toBe(false);
    expect(f.calls).toBe(1);
  });

  it('gives up on a closed connection, and after 11 tries while stopping', async () => {
    const closed = sender({ closed: () => true });
    const f1 = failing([new TimeoutError()]);
    expect(await drive(closed.clock, closed.acks.confirmed(f1.op, { jobUid: 'u', isSuperseded: async () => false }))).toBe(false);
    expect(f1.calls).toBe(1);
    const stopping = sender({ stopping: () => true });
    const f2 = failing(Array.from({ length: 50 }, () => new TimeoutError()));
    expect(await drive(stopping.clock, stopping.acks.confirmed(f2.op, { jobUid: 'u', isSuperseded: async () => false }))).toBe(false);
    expect(f2.calls).toBe(11);
  });

  it('best effort tries ten times and never throws', async () => {
    const { clock, acks } = sender();
    const f = failing(Array.from({ length: 50 }, () => new TimeoutError()));
    await drive(clock, acks.bestEffort(f.op));
    expect(f.calls).toBe(10);
  });
});
