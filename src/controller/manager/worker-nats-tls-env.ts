import type { WorkerNatsTls } from '../workerpod/worker-pod-builder.js';

/** Default key of the CA in the agents' TLS Secret (the key a cert-manager Certificate writes). */
export const DEFAULT_WORKER_NATS_TLS_CA_KEY = 'ca.crt';

/**
 * The agents' TLS Secret from the controller's environment (the chart sets these from
 * `agent.natsTls`); undefined without VISIONQ_WORKER_NATS_TLS_SECRET.
 *
 * - VISIONQ_WORKER_NATS_TLS_SECRET: Secret name, in every WorkerPool's namespace;
 * - VISIONQ_WORKER_NATS_TLS_CA_KEY: key of the CA (default `ca.crt`; set but empty: no CA, the
 *   agent trusts the system roots, for a publicly signed server certificate);
 * - VISIONQ_WORKER_NATS_TLS_CERT_KEY and VISIONQ_WORKER_NATS_TLS_KEY_KEY: keys of a client
 *   certificate and its private key, both or neither (mutual TLS; default: none).
 *
 * Throws on a combination that would mount nothing or only half a client identity: better
 * to refuse to start than to create worker pods that cannot connect.
 */
export function workerNatsTlsFromEnv(env: NodeJS.ProcessEnv): WorkerNatsTls | undefined {
  const secretName = env.VISIONQ_WORKER_NATS_TLS_SECRET;
  if (!secretName) return undefined;
  const ca = env.VISIONQ_WORKER_NATS_TLS_CA_KEY ?? DEFAULT_WORKER_NATS_TLS_CA_KEY;
  const cert = env.VISIONQ_WORKER_NATS_TLS_CERT_KEY ?? '';
  const key = env.VISIONQ_WORKER_NATS_TLS_KEY_KEY ?? '';
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('VISIONQ_WORKER_NATS_TLS_CERT_KEY and VISIONQ_WORKER_NATS_TLS_KEY_KEY must be set together (a client certificate needs its key)');
  }
  if (!ca && !cert) {
    throw new Error('VISIONQ_WORKER_NATS_TLS_SECRET is set but names no file: set VISIONQ_WORKER_NATS_TLS_CA_KEY or the client certificate keys');
  }
  return { secretName, ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) };
}
