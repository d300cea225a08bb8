import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { forgeryOf } from '../../../../src/controller/jobevents/event-authenticity.js';
import { EVENT_MAC_HEADER, EventAuthenticator, eventMac } from '../../../../src/queue/event-mac.js';
import { encodeJobEvent, type JobEvent } from '../../../../src/queue/job-events.js';
import { JobSigner } from '../../../../src/queue/job-signature.js';
import { eventSubject } from '../../../../src/queue/subjects.js';

const signer = JobSigner.generate().signer;
const auth = new EventAuthenticator([signer]);
const ev = (o: Partial<JobEvent> = {}): JobEvent =>
  ({ type: 'succeeded', jobUid: 'u-1', namespace: 'team-a', name: 'job-1', pool: 'p', attempt: 1, deliveryCount: 1, streamSeq: 7, pod: 'w-1', node: 'n', time: '2026-12-03T00:00:00Z', durationMs: 5, ...o }) as JobEvent;
const withMac = (key: Buffer | undefined, data: Uint8Array) => {
  const h = headers();
  if (key) h.set(EVENT_MAC_HEADER, eventMac(key, data));
  return h;
};

describe('forgeryOf', () => {
  const e = ev();
  const data = encodeJobEvent(e);
  const subject = eventSubject('team-a', 'job-1');
  const cases: Array<[string, Parameters<typeof forgeryOf>, RegExp | '']> = [
    ['signing off: anything on its own subject', [e, subject, data, undefined, {}], ''],
    ['signing off: another namespace\'s subject is still refused', [e, eventSubject('team-b', 'job-1'), data, undefined, {}], /not on its job's subject/],
    ['the job\'s MAC', [e, subject, data, withMac(signer.eventKey('u-1'), data), { auth }], ''],
    ['no MAC', [e, subject, data, undefined, { auth }], /no valid MAC/],
    ['another job\'s MAC', [e, subject, data, withMac(signer.eventKey('u-2'), data), { auth }], /no valid MAC/],
    ['no MAC, macs optional (upgrade window)', [e, subject, data, headers(), { auth, macs: 'optional' }], ''],
    ['a wrong MAC, macs optional', [e, subject, data, withMac(JobSigner.generate().signer.eventKey('u-1'), data), { auth, macs: 'optional' }], /no valid MAC/],
    ['a refusal naming no job', [ev({ type: 'rejected', jobUid: '', reason: 'x' } as Partial<JobEvent>), subject, data, undefined, { auth }], ''],
    ['a succeeded naming no job', [ev({ jobUid: '' }), subject, data, undefined, { auth }], /names no job/],
  ];
  for (const [name, args, want] of cases) {
    it(name, () => {
      const got = forgeryOf(...args);
      if (want === '') expect(got).toBe('');
      else expect(got).toMatch(want);
    });
  }
});
