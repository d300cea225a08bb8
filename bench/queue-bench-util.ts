/**
 * What bench/queue-replicas.ts needs around the queue: a pull loop that takes jobs the way
 * the agent does, and connections pinned to a chosen node of a cluster.
 */
import type { Consumer } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { AckSender } from '../src/agent/ack-sender.js';
import { Backoff } from '../src/lib/backoff.js';
import { realClock } from '../src/lib/clock.js';
import { ackAckByAckSubject } from '../src/queue/ack.js';
import { decodeJobMessage, type JobMessage } from '../src/queue/job-message.js';

/** The agent's pull terms (src/agent/agent.ts runFetchLoop): one message, 10 s expiry, 500 ms → 5 s backoff. */
const PULL_EXPIRES_MS = 10_000;
const FETCH_BACKOFF = { initialMs: 500, maxMs: 5000 };

export interface Taken {
  job: JobMessage;
  receivedAt: number;
  ackedAt: number;
}

/**
 * A one-slot agent without the process: the same fetch loop as Agent.runFetchLoop (which is
 * private to the agent and tied to running a command, so it is mirrored here) and the same
 * confirmed ack (AckSender + ackAckByAckSubject, retried across an election like the agent's
 * settle). Jobs are acked as soon as they arrive; `onTaken` hears of each once its ack is confirmed.
 */
export class AgentStylePuller {
  private stopping = false;
  private loop?: Promise<void>;
  private current?: { stop(): void };
  /** performance.now() when the last pull request went out (undefined while handling a job). */
  pullSentAt: number | undefined;
  /** Pulls that ended in an error (missed heartbeats, no responders, a disconnect), each followed by the agent's backoff. */
  failedPulls = 0;
  private readonly acks: AckSender;

  constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly onTaken: (t: Taken) => void,
  ) {
    this.acks = new AckSender({ nc, clock: realClock, log: pino({ level: 'silent' }), stopping: () => this.stopping });
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.current?.stop();
    await this.loop?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(FETCH_BACKOFF);
    while (!this.stopping) {
      try {
        const iter = await this.consumer.fetch({ max_messages: 1, expires: PULL_EXPIRES_MS });
        this.current = iter;
        this.pullSentAt = performance.now();
        const t0 = performance.now();
        let got = 0;
        for await (const m of iter) {
          got++;
          this.pullSentAt = undefined;
          const receivedAt = performance.now();
          const job = decodeJobMessage(m.data);
          const reply = (m as unknown as { reply?: string }).reply ?? '';
          // One slot: the next pull waits for this job's ack, as the agent's does for its slot.
          const ok = await this.acks.confirmed(() => ackAckByAckSubject(this.nc, reply), { jobUid: job.uid, isSuperseded: async () => false });
          if (ok) this.onTaken({ job, receivedAt, ackedAt: performance.now() });
        }
        backoff.reset();
        if (got === 0 && performance.now() - t0 < 200 && !this.stopping) await delay(500);
      } catch {
        this.failedPulls++;
        if (!this.stopping) await delay(backoff.next());
      } finally {
        this.current = undefined;
        this.pullSentAt = undefined;
      }
    }
  }
}

/**
 * A connection that goes to `first` and falls back to the others in order, so a benchmark
 * knows which node it talks to (visionq's own connectNats randomises, as it should).
 */
export function connectVia(first: string, all: string[], name: string): Promise<NatsConnection> {
  return connect({
    servers: [first, ...all.filter((u) => u !== first)],
    name,
    noRandomize: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
