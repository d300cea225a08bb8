import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { isWrongLastSequence } from './errors.js';

/**
 * Why a KV bucket: JetStream's delivery count mixes failures with disruptions (drain,
 * SIGTERM, dead pod, ack_wait expiry), and a NAK cannot change the message. So per job
 * uid one record in VISIONQ_ATTEMPTS holds the attempt an agent claimed and the failed
 * attempts so far. Updates are compare-and-set, and idempotent per (streamSeq,
 * deliveryCount), so a retried update never counts a failure twice.
 *
 * The claim also makes stale attempts harmless: an agent whose delivery was superseded
 * (its message was NAKed by the controller or redelivered after a partition) sees a
 * newer claim, stops its process and never acks, naks or terms the newer delivery.
 */
export const AttemptRecord = z.object({
  streamSeq: z.number().int(),
  deliveryCount: z.number().int(),
  /** Attempts started for this uid (claims), the 1-based `attempt` of the current one. */
  attempts: z.number().int(),
  failures: z.number().int(),
  /** Delivery whose failure was counted last (idempotence). */
  lastFailure: z.object({ streamSeq: z.number().int(), deliveryCount: z.number().int() }).nullable(),
  pod: z.string(),
  updatedAt: z.string(),
});
export type AttemptRecord = z.infer<typeof AttemptRecord>;

export interface DeliveryRef {
  streamSeq: number;
  deliveryCount: number;
}

export type ClaimResult = { ok: true; record: AttemptRecord } | { ok: false; record: AttemptRecord };

/** (a) is older than (b). */
export function olderDelivery(a: DeliveryRef, b: DeliveryRef): boolean {
  return a.streamSeq < b.streamSeq || (a.streamSeq === b.streamSeq && a.deliveryCount < b.deliveryCount);
}

const encoder = new TextEncoder();

export class AttemptStore {
  constructor(
    private readonly kv: KV,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(uid: string): Promise<{ record: AttemptRecord; revision: number } | undefined> {
    const e = await this.kv.get(uid);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    const parsed = AttemptRecord.safeParse(e.json());
    return parsed.success ? { record: parsed.data, revision: e.revision } : undefined;
  }

  /**
   * Claims delivery `d` of job `uid` for `pod`. Fails (ok: false) when an equal or newer
   * delivery was claimed already: this delivery is stale and must not run.
   */
  async claim(uid: string, d: DeliveryRef, pod: string): Promise<ClaimResult> {
    return this.cas(uid, (cur) => {
      if (cur && !olderDelivery(cur, d)) return { ok: false, record: cur };
      const record: AttemptRecord = {
        streamSeq: d.streamSeq,
        deliveryCount: d.deliveryCount,
        attempts: (cur?.attempts ?? 0) + 1,
        failures: cur?.failures ?? 0,
        lastFailure: cur?.lastFailure ?? null,
        pod,
        updatedAt: this.now().toISOString(),
      };
      return { ok: true, record, write: true };
    });
  }

  /**
   * Counts the failure of delivery `d` once and returns the failure count. `superseded`
   * when a newer delivery was claimed meanwhile (the caller must not nak/term).
   */
  async recordFailure(uid: string, d: DeliveryRef): Promise<{ failures: number; superseded: boolean }> {
    const r = await this.cas(uid, (cur) => {
      if (cur && olderDelivery(d, cur)) return { ok: false, record: cur };
      if (cur?.lastFailure && !olderDelivery(cur.lastFailure, d)) return { ok: true, record: cur };
      const base = cur ?? { streamSeq: d.streamSeq, deliveryCount: d.deliveryCount, attempts: 1, failures: 0, lastFailure: null, pod: '' };
      const record: AttemptRecord = { ...base, failures: base.failures + 1, lastFailure: { ...d }, updatedAt: this.now().toISOString() };
      return { ok: true, record, write: true };
    });
    return { failures: r.record.failures, superseded: !r.ok };
  }

  /** True when a newer delivery than `d` has been claimed. */
  async isSuperseded(uid: string, d: DeliveryRef): Promise<boolean> {
    const cur = await this.get(uid);
    return cur !== undefined && olderDelivery(d, cur.record);
  }

  private async cas(
    uid: string,
    decide: (cur: AttemptRecord | undefined) => { ok: boolean; record: AttemptRecord; write?: boolean },
  ): Promise<ClaimResult> {
    for (let i = 0; ; i++) {
      const cur = await this.get(uid);
      const d = decide(cur?.record);
      if (!d.write) return { ok: d.ok, record: d.record } as ClaimResult;
      try {
        const data = encoder.encode(JSON.stringify(d.record));
        if (cur) await this.kv.update(uid, data, cur.revision);
        else await this.kv.create(uid, data);
        return { ok: d.ok, record: d.record } as ClaimResult;
      } catch (err) {
        // Lost the compare-and-set race: re-read and decide again.
        if (i >= 20 || !isWrongLastSequence(err)) throw err;
      }
    }
  }
}
