/**
 * Whether a job event comes from an agent that holds the job (see src/queue/event-mac.ts).
 * Pure, so the rules are tested apart from the consumer.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { EVENT_MAC_HEADER, type EventAuthenticator } from '../../queue/event-mac.js';
import type { JobEvent } from '../../queue/job-events.js';
import { eventSubject } from '../../queue/subjects.js';

export interface EventAuthenticity {
  /** Set when the controller signs jobs: events that name a job need its MAC. */
  auth?: EventAuthenticator;
  /**
   * `optional` accepts an event without any MAC (a wrong MAC is still refused): for the
   * upgrade window, while jobs published before signing was on, or taken by agents older than
   * event MACs, still run. `required` (default) once they are gone.
   */
  macs?: 'required' | 'optional';
}

/** Why `ev` must be dropped as forged; '' when it may be applied. */
export function forgeryOf(ev: JobEvent, subject: string, data: Uint8Array, hdrs: MsgHdrs | undefined, opts: EventAuthenticity): string {
  // Worker credentials may publish only under their own namespace: the body must agree.
  // Needs no key, so it holds with signing off too.
  if (subject !== eventSubject(ev.namespace, ev.name)) return `published on ${subject}, not on its job's subject`;
  if (!opts.auth) return '';
  // An agent's report of a message it refused names no job, so it can change none.
  if (ev.jobUid === '') return ev.type === 'rejected' ? '' : 'names no job';
  if (opts.macs === 'optional' && !hdrs?.get(EVENT_MAC_HEADER)) return '';
  return opts.auth.verify(ev.jobUid, data, hdrs) ? '' : 'no valid MAC for the job';
}
