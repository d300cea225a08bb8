import { describe, expect, it } from 'vitest';
import { workerNatsTlsFromEnv } from '../../../../src/controller/manager/worker-nats-tls-env.js';

describe('workerNatsTlsFromEnv', () => {
  it('is unset without the Secret name', () => {
    expect(workerNatsTlsFromEnv({})).toBeUndefined();
    expect(workerNatsTlsFromEnv({ VISIONQ_WORKER_NATS_TLS_SECRET: '', VISIONQ_WORKER_NATS_TLS_CA_KEY: 'ca.crt' })).toBeUndefined();
  });

  it('defaults to the CA under ca.crt and no client certificate', () => {
    expect(workerNatsTlsFromEnv({ VISIONQ_WORKER_NATS_TLS_SECRET: 'nats-tls' })).toEqual({ secretName: 'nats-tls', ca: 'ca.crt' });
  });

  it('takes other key names and a client certificate with its key', () => {
    expect(
      workerNatsTlsFromEnv({
        VISIONQ_WORKER_NATS_TLS_SECRET: 'nats-tls',
        VISIONQ_WORKER_NATS_TLS_CA_KEY: 'root.pem',
        VISIONQ_WORKER_NATS_TLS_CERT_KEY: 'tls.crt',
        VISIONQ_WORKER_NATS_TLS_KEY_KEY: 'tls.key',
      }),
    ).toEqual({ secretName: 'nats-tls', ca: 'root.pem', cert: 'tls.crt', key: 'tls.key' });
  });

  it('an empty CA key means no CA (a publicly signed server), which then needs a client certificate', () => {
    const env = { VISIONQ_WORKER_NATS_TLS_SECRET: 'nats-tls', VISIONQ_WORKER_NATS_TLS_CA_KEY: '' };
    expect(workerNatsTlsFromEnv({ ...env, VISIONQ_WORKER_NATS_TLS_CERT_KEY: 'tls.crt', VISIONQ_WORKER_NATS_TLS_KEY_KEY: 'tls.key' })).toEqual({
      secretName: 'nats-tls',
      cert: 'tls.crt',
      key: 'tls.key',
    });
    expect(() => workerNatsTlsFromEnv(env)).toThrow(/names no file/);
  });

  it('refuses a client certificate without its key, and the reverse', () => {
    expect(() => workerNatsTlsFromEnv({ VISIONQ_WORKER_NATS_TLS_SECRET: 's', VISIONQ_WORKER_NATS_TLS_CERT_KEY: 'tls.crt' })).toThrow(/set together/);
    expect(() => workerNatsTlsFromEnv({ VISIONQ_WORKER_NATS_TLS_SECRET: 's', VISIONQ_WORKER_NATS_TLS_KEY_KEY: 'tls.key' })).toThrow(/set together/);
  });
});
