import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JobKeyError, JobSigner, JobVerifier, KEY_ID_HEADER, SIGNATURE_HEADER } from '../../../src/queue/job-signature.js';

const data = new TextEncoder().encode('{"uid":"u1","namespace":"a","pool":"p"}');

describe('job signatures', () => {
  it('a signed message verifies with the signer public key, by key id', () => {
    const { signer } = JobSigner.generate();
    const h = signer.headers(data);
    expect(h.get(KEY_ID_HEADER)).toBe(signer.keyId);
    expect(new JobVerifier([signer.publicKey]).check(data, h)).toEqual({ ok: true, keyId: signer.keyId });
  });

  it('refuses unsigned, tampered, and foreign-key messages, naming why', () => {
    const { signer } = JobSigner.generate();
    const { signer: other } = JobSigner.generate();
    const v = new JobVerifier([signer.publicKey]);
    expect(v.check(data, undefined)).toEqual({ ok: false, reason: 'unsigned job message' });
    const tampered = new TextEncoder().encode('{"uid":"u1","namespace":"a","pool":"q"}');
    expect(v.check(tampered, signer.headers(data))).toMatchObject({ ok: false, reason: expect.stringMatching(/bad signature/) });
    expect(v.check(data, other.headers(data))).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown key/) });
    // A forger who copies the key id still cannot sign.
    const forged = other.headers(data);
    forged.set(KEY_ID_HEADER, signer.keyId);
    expect(v.check(data, forged)).toMatchObject({ ok: false, reason: expect.stringMatching(/bad signature/) });
    forged.set(SIGNATURE_HEADER, 'not base64 at all!');
    expect(v.check(data, forged).ok).toBe(false);
  });

  it('accepts the previous key during a rotation', () => {
    const { signer: old } = JobSigner.generate();
    const { signer: next } = JobSigner.generate();
    const v = new JobVerifier([next.publicKey, old.publicKey]);
    expect(v.check(data, old.headers(data)).ok).toBe(true);
    expect(v.check(data, next.headers(data)).ok).toBe(true);
  });

  it('takes only Ed25519 keys, with a typed error', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => new JobSigner(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }))).toThrow(JobKeyError);
    expect(() => new JobSigner('not a key')).toThrow(JobKeyError);
    expect(() => new JobVerifier(['AAAA'])).toThrow(JobKeyError);
    expect(() => new JobVerifier([])).toThrow(JobKeyError);
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => new JobVerifier([pem])).toThrow(/Ed25519/);
  });
});
