import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Logger } from 'pino';
import { freePort } from '../free-port.js';
import { ComponentProcess } from './component-process.js';
import { httpsGet, isOk } from './https-probe.js';
import { findKubeBinaries, type KubeBinaries } from './kube-binaries.js';
import { createControlPlanePki, type ControlPlanePki, type TokenIdentity } from './pki.js';

export const KUBE_CONTEXT = 'visionq-kube';
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

export interface KubeControlPlaneOptions {
  /** Holds pki/, etcd data, component logs and kubeconfigs; wiped of old etcd data at start. */
  dir: string;
  logger: Logger;
  /** Overrides kubeBinDir(). */
  binDir?: string;
  /** Fixed apiserver port (the sandbox's --api-port); free port otherwise. */
  apiPort?: number;
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags (tests). */
  apiserverArgs?: string[];
}

export interface KubeControlPlane {
  apiUrl: string;
  /** Admin kubeconfig (system:masters), for kubectl and the sandbox's own pieces. */
  kubeconfigPath: string;
  kc: KubeConfig;
  pki: ControlPlanePki;
  binaries: KubeBinaries;
  components: ComponentProcess[];
  /** A kubeconfig file for one of the static identities (e.g. the simulated kubelet). */
  kubeconfigFor(identity: TokenIdentity, name: string): Promise<string>;
  /** A kubeconfig file for an arbitrary bearer token (a ServiceAccount's). */
  kubeconfigForToken(token: string, name: string, namespace?: string): Promise<string>;
  stop(): Promise<void>;
}

function kubeconfigYaml(server: string, caPem: string, token: string, namespace = 'default'): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBE_CONTEXT, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: KUBE_CONTEXT, user: { token } }],
    contexts: [{ name: KUBE_CONTEXT, context: { cluster: KUBE_CONTEXT, user: KUBE_CONTEXT, namespace } }],
    'current-context': KUBE_CONTEXT,
    preferences: {},
  });
}

/**
 * Starts a real control plane from the binaries `npm run kube:build` made: etcd, then
 * kube-apiserver (TLS, tokens, Node+RBAC authorization, default admission plugins with
 * PodSecurity), then kube-controller-manager and kube-scheduler, each as its own process on
 * its own free ports. Resolves when /readyz answers, the components are healthy and the
 * service-account controller has made `default/default`. Nodes come from the process kubelet.
 */
export async function startKubeControlPlane(opts: KubeControlPlaneOptions): Promise<KubeControlPlane> {
  const dir = resolve(opts.dir);
  const binaries = await findKubeBinaries(opts.binDir);
  const timeout = opts.startTimeoutMs ?? 90_000;
  const logDir = join(dir, 'logs');
  // A previous run's etcd would bring back its objects and its certificates would not match.
  await rm(join(dir, 'etcd'), { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  const pki = await createControlPlanePki(join(dir, 'pki'));
  const caPem = await readFile(pki.caCert, 'utf8');
  const components: ComponentProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const c of [...components].reverse()) {
      await c.stop().catch((err: unknown) => opts.logger.warn({ err, component: c.name }, 'control plane: stop failed'));
    }
  };
  const kubeconfigForToken = async (token: string, name: string, namespace?: string): Promise<string> => {
    const path = join(dir, 'kubeconfigs', `${name}.kubeconfig`);
    await mkdir(join(dir, 'kubeconfigs'), { recursive: true });
    await writeFile(path, kubeconfigYaml(apiUrl, caPem, token, namespace), { mode: 0o600 });
    return path;
  };
  let apiUrl = '';
  try {
    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort] = await Promise.all([
      freePort(), freePort(), opts.apiPort ? Promise.resolve(opts.apiPort) : freePort(), freePort(), freePort(),
    ]);
    apiUrl = `https://127.0.0.1:${apiPort}`;
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = new ComponentProcess({
      name: 'etcd',
      binary: binaries.etcd,
      logFile: join(logDir, 'etcd.log'),
      args: [
        '--name=visionq', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=visionq=http://127.0.0.1:${etcdPeer}`,
        // A throwaway local store: fsync buys nothing but seconds here.
        '--unsafe-no-fsync', '--log-level=warn', '--quota-backend-bytes=4294967296',
      ],
    });
    components.push(etcd);
    await etcd.start();
    await etcd.waitUntil('healthy', async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, timeout);

    const apiserver = new ComponentProcess({
      name: 'kube-apiserver',
      binary: binaries['kube-apiserver'],
      logFile: join(logDir, 'kube-apiserver.log'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
        `--tls-cert-file=${pki.apiserverCert}`, `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.caCert}`, `--token-auth-file=${pki.tokenFile}`,
        '--authorization-mode=Node,RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`, `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--allow-privileged=true', '--enable-aggregator-routing=true',
        `--kubelet-client-certificate=${pki.kubeletClientCert}`, `--kubelet-client-key=${pki.kubeletClientKey}`,
        // Simulated nodes share the loopback address; their hostnames resolve nowhere.
        '--kubelet-preferred-address-types=InternalIP',
        `--cert-dir=${join(dir, 'apiserver-certs')}`, '--profiling=false', '--v=1',
        ...(opts.apiserverArgs ?? []),
      ],
    });
    components.push(apiserver);
    await apiserver.start();
    const admin = pki.identities.admin;
    await apiserver.waitUntil('ready', () => isOk({ url: `${apiUrl}/readyz`, ca: caPem, token: admin.token }), timeout);

    const cmKubeconfig = await kubeconfigForToken(pki.identities.controllerManager.token, 'kube-controller-manager', 'kube-system');
    const controllerManager = new ComponentProcess({
      name: 'kube-controller-manager',
      binary: binaries['kube-controller-manager'],
      logFile: join(logDir, 'kube-controller-manager.log'),
      args: [
        `--kubeconfig=${cmKubeconfig}`, `--authentication-kubeconfig=${cmKubeconfig}`, `--authorization-kubeconfig=${cmKubeconfig}`,
        '--bind-address=127.0.0.1', `--secure-port=${cmPort}`, `--cert-dir=${join(dir, 'controller-manager-certs')}`,
        '--leader-elect=false', '--controllers=*', '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`, `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`, '--v=1',
      ],
    });
    const schedKubeconfig = await kubeconfigForToken(pki.identities.scheduler.token, 'kube-scheduler', 'kube-system');
    const scheduler = new ComponentProcess({
      name: 'kube-scheduler',
      binary: binaries['kube-scheduler'],
      logFile: join(logDir, 'kube-scheduler.log'),
      args: [
        `--kubeconfig=${schedKubeconfig}`, `--authentication-kubeconfig=${schedKubeconfig}`, `--authorization-kubeconfig=${schedKubeconfig}`,
        '--bind-address=127.0.0.1', `--secure-port=${schedPort}`, `--cert-dir=${join(dir, 'scheduler-certs')}`,
        '--leader-elect=false', '--v=1',
      ],
    });
    components.push(controllerManager, scheduler);
    await Promise.all([controllerManager.start(), scheduler.start()]);

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(apiUrl, caPem, admin.token), { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await Promise.all([
      controllerManager.waitUntil('healthy', () => isOk({ url: `https://127.0.0.1:${cmPort}/healthz`, insecure: true }), timeout),
      scheduler.waitUntil('healthy', () => isOk({ url: `https://127.0.0.1:${schedPort}/healthz`, insecure: true }), timeout),
    ]);
    // The service-account controller (and its token controller) working is what every
    // namespace's pods need first.
    await controllerManager.waitUntil('serving ServiceAccounts', async () => {
      const res = await httpsGet({ url: `${apiUrl}/api/v1/namespaces/default/serviceaccounts/default`, ca: caPem, token: admin.token });
      return res.status === 200;
    }, timeout);
    opts.logger.info({ apiUrl, dir }, 'real control plane ready');
    return {
      apiUrl,
      kubeconfigPath,
      kc,
      pki,
      binaries,
      components,
      kubeconfigFor: (identity, name) => kubeconfigForToken(identity.token, name),
      kubeconfigForToken,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
