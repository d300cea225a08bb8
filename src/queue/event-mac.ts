/**
 * Per-job event authentication. An agent MACs each event of a job with the key the controller
 * put inside that job's signed message (HMAC-SHA256 over the exact event bytes, header
 * Visionq-Event-Mac); the controller recomputes the key from its signing key and applies the
 * event only when the MAC matches. Whoever can publish on the events subjects (an algorithm
 * holding its worker's NATS credentials) but never received a job's message cannot forge or
 * redirect that job's events.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { JobSigner } from './job-signature.js';

export const EVENT_MAC_HEADER = 'Visionq-Event-Mac';

export function eventMac(key: Uint8Array, data: Uint8Array): string {
  return createHmac('sha256', key).update(data).digest('base64');
}

/** The controller's side: the current signing key and, during a rotation, the previous ones. */
export class EventAuthenticator {
  constructor(private readonly signers: readonly Pick<JobSigner, 'eventKey'>[]) {}

  /** True when `hdrs` carries a MAC of `data` under job `uid`'s key from any of the signers. */
  verify(uid: string, data: Uint8Array, hdrs: MsgHdrs | undefined): boolean {
    const given = Buffer.from(hdrs?.get(EVENT_MAC_HEADER) ?? '', 'base64');
    if (given.length === 0) return false;
    for (const s of this.signers) {
      const want = Buffer.from(eventMac(s.eventKey(uid), data), 'base64');
      if (want.length === given.length && timingSafeEqual(want, given)) return true;
    }
    return false;
  }
}
