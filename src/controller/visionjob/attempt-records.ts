/**
 * The controller's read of VISIONQ_ATTEMPTS: which delivery of a job an agent claimed last.
 * Used to fence actions on a job's message against a newer delivery (nats-server 2.9 applies
 * an ack/NAK of an old delivery to the newer one, and deletes a message an agent holds).
 */
import { Kvm, type KV } from '@nats-io/kv';
import { AttemptStore, type AttemptRecord, type DeliveryRef, olderDelivery } from '../../queue/attempt-store.js';
import { ATTEMPTS_BUCKET } from '../../queue/subjects.js';
import type { NatsHandles } from '../manager/context.js';

const buckets = new WeakMap<NatsHandles, Promise<KV>>();

async function store(nats: NatsHandles): Promise<AttemptStore> {
  let kv = buckets.get(nats);
  if (!kv) {
    kv = new Kvm(nats.js).open(ATTEMPTS_BUCKET);
    buckets.set(nats, kv);
    kv.catch(() => buckets.delete(nats));
  }
  return new AttemptStore(await kv);
}

export async function attemptRecord(nats: NatsHandles, uid: string): Promise<AttemptRecord | undefined> {
  return (await (await store(nats)).get(uid))?.record;
}

/** A delivery newer than `d` was claimed: acting on `d`'s ack subject would hit that one. */
export async function newerDeliveryClaimed(nats: NatsHandles, uid: string, d: DeliveryRef): Promise<boolean> {
  const rec = await attemptRecord(nats, uid);
  return rec !== undefined && olderDelivery(d, rec);
}
