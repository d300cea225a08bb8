import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { EVENT_MAC_HEADER, EventAuthenticator, eventMac } from '../../../src/queue/event-mac.js';
import { JobSigner } from '../../../src/queue/job-signature.js';

const data = new TextEncoder().encode('{"type":"succeeded","jobUid":"u-1"}');
const withMac = (mac: string) => {
  const h = headers();
  h.set(EVENT_MAC_HEADER, mac);
  return h;
};

describe('event MACs', () => {
  const current = JobSigner.generate().signer;
  const previous = JobSigner.generate().signer;
  const auth = new EventAuthenticator([current, previous]);

  it('derives one stable key per job and signing key', () => {
    expect(current.eventKey('u-1')).toEqual(current.eventKey('u-1'));
    expect(current.eventKey('u-1')).not.toEqual(current.eventKey('u-2'));
    expect(current.eventKey('u-1')).not.toEqual(previous.eventKey('u-1'));
    // Another replica loading the same PEM derives the same keys.
    const { signer, privateKeyPem } = JobSigner.generate();
    expect(new JobSigner(privateKeyPem).eventKey('u-1')).toEqual(signer.eventKey('u-1'));
  });

  it('accepts the MAC under the current or a previous key', () => {
    expect(auth.verify('u-1', data, withMac(eventMac(current.eventKey('u-1'), data)))).toBe(true);
    expect(auth.verify('u-1', data, withMac(eventMac(previous.eventKey('u-1'), data)))).toBe(true);
  });

  it('refuses a missing MAC, another job\'s key, a foreign key and tampered bytes', () => {
    expect(auth.verify('u-1', data, undefined)).toBe(false);
    expect(auth.verify('u-1', data, headers())).toBe(false);
    expect(auth.verify('u-1', data, withMac(eventMac(current.eventKey('u-2'), data)))).toBe(false);
    expect(auth.verify('u-1', data, withMac(eventMac(JobSigner.generate().signer.eventKey('u-1'), data)))).toBe(false);
    const tampered = new TextEncoder().encode('{"type":"succeeded","jobUid":"u-1","result":1}');
    expect(auth.verify('u-1', tampered, withMac(eventMac(current.eventKey('u-1'), data)))).toBe(false);
    expect(auth.verify('u-1', data, withMac('not base64 at all!'))).toBe(false);
  });
});
