import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** openssl failed or is missing; the real control plane needs it for its certificates. */
export class PkiError extends Error {
  override name = 'PkiError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A token identity for --token-auth-file. */
export interface TokenIdentity {
  user: string;
  groups: string[];
  token: string;
}

export interface ControlPlanePki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  /** The client certificate the apiserver shows kubelets (logs, exec). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** Serving certificate of the process kubelet's HTTPS endpoint. */
  kubeletServingCert: string;
  kubeletServingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  identities: { admin: TokenIdentity; controllerManager: TokenIdentity; scheduler: TokenIdentity; kubelet: TokenIdentity };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const hint = e.code === 'ENOENT' ? ' (install it: apt-get install -y openssl)' : `: ${e.stderr ?? e.message}`;
    throw new PkiError(`openssl ${args[0]} failed${hint}`, { cause: err });
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Issues a leaf certificate signed by the CA (OpenSSL 3 `req -x509 -CA`). */
async function leaf(dir: string, name: string, subject: string, ext: string[], ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const addext = ext.flatMap((e) => ['-addext', e]);
  await openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '365', '-subj', subject, '-CA', ca.cert, '-CAkey', ca.key, ...addext]);
  return { cert, key };
}

function token(): string {
  return randomBytes(24).toString('hex');
}

/**
 * The PKI a local control plane needs: one CA, the apiserver's serving certificate, the
 * client certificate it shows kubelets, a serving certificate for the process kubelet, the
 * service-account signing key pair, and static tokens for the admin and each component.
 * Tokens rather than client certificates keep start-up to a handful of openssl calls; the
 * RBAC identities are the same ones kubeadm gives the components.
 */
export async function createControlPlanePki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await openssl(['req', '-x509', ...EC, '-keyout', caKey, '-out', caCert, '-days', '3650', '-subj', '/CN=visionq-sandbox-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const ca = { cert: caCert, key: caKey };
  const [apiserver, kubeletClient, kubeletServing] = await Promise.all([
    leaf(dir, 'apiserver', '/CN=kube-apiserver', [
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature,keyEncipherment',
    ], ca),
    leaf(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature,keyEncipherment'], ca),
    leaf(dir, 'kubelet-serving', '/O=system:nodes/CN=system:node:visionq-sandbox', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature,keyEncipherment'], ca),
  ]);
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccountKey]);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  const identities = {
    admin: { user: 'visionq-admin', groups: ['system:masters'], token: token() },
    controllerManager: { user: 'system:kube-controller-manager', groups: [], token: token() },
    scheduler: { user: 'system:kube-scheduler', groups: [], token: token() },
    // One process plays every simulated node, and NodeRestriction lets a node identity touch
    // only its own Node: the simulation runs as an admin-group user of its own name.
    kubelet: { user: 'visionq-sandbox-kubelet', groups: ['system:masters'], token: token() },
  };
  const tokenFile = join(dir, 'tokens.csv');
  const lines = Object.values(identities).map((i) => `${i.token},${i.user},${i.user},"${i.groups.join(',')}"`);
  await writeFile(tokenFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  return {
    dir,
    caCert,
    caKey,
    apiserverCert: apiserver.cert,
    apiserverKey: apiserver.key,
    kubeletClientCert: kubeletClient.cert,
    kubeletClientKey: kubeletClient.key,
    kubeletServingCert: kubeletServing.cert,
    kubeletServingKey: kubeletServing.key,
    serviceAccountKey,
    serviceAccountPub,
    tokenFile,
    identities,
  };
}

export async function readPem(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
