import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startApiServer, type ApiServerHandle } from './api-server/index.js';
import { writeKubeconfig } from './kubeconfig.js';
import { jetstreamConfig, NatsServerProcess } from './nats-server-process.js';
import { NatsCluster } from './nats-cluster.js';
import { freePort } from './free-port.js';
import { installCrds, readCrds } from './crd-installer.js';
import { startKubelet, type KubeletHandle, type SimNodeSpec } from './kubelet/index.js';
import { startScheduler } from './scheduler/index.js';
import { startAutoscaler } from './autoscaler/index.js';
import { packageRoot } from './package-root.js';
import { withPooledConnections } from '../kube/kube-clients.js';
import { startKubeControlPlane, waitForNodesReady, type KubeControlPlane } from './control-plane/index.js';
import { JobSigner } from '../queue/job-signature.js';
import { CONTROLLER_NATS_USER, NatsAuthSync, WORKER_NATS_SECRET, natsAuthConfig, randomPassword, writeNatsAuthConfig } from './nats-auth-sync.js';

/** `memory`: visionq's in-memory API server and scheduler; `kube`: the real control plane. */
export type ControlPlaneKind = 'memory' | 'kube';

export interface SandboxOptions {
  /** Where the kubeconfig, NATS store and pod logs go. */
  dir: string;
  /** GPU nodes present at start. */
  nodes: number;
  gpusPerNode: number;
  /** Upper bound on nodes, counting the initial ones; the simulated autoscaler adds up to it. */
  maxNodes: number;
  nodeProvisionSeconds: number;
  /** How long an autoscaled node must be unneeded before it is removed. */
  nodeScaleDownSeconds?: number;
  apiPort?: number;
  natsPort?: number;
  /**
   * Nodes of the JetStream cluster; default 1, a single nats-server on natsPort. Above 1
   * the nodes take free ports and natsUrl lists them all, comma-separated.
   */
  natsClusterSize?: number;
  /**
   * nats-server requires static users: the controller's, and one per WorkerPool scoped to its
   * pool (nats-permissions.ts), its password in Secret `visionq-worker-nats` key `<pool>`.
   */
  natsAuth?: boolean;
  /** Working directory of pod processes; the package root so examples' relative paths work. */
  workingDir?: string;
  logger: Logger;
  /** Default `memory`; `kube` needs `npm run kube:build` first. */
  controlPlane?: ControlPlaneKind;
  /** Directory of the real control plane's binaries (default: kubeBinDir()). */
  kubeBinDir?: string;
  /**
   * Starts the controller against the sandbox; omitted when a test wants to run its
   * own controller(s), e.g. two replicas for leader-election tests.
   */
  startController?: (env: SandboxEnvironment) => Promise<{ stop(): Promise<void> }>;
}

/** What a controller (or a test) needs to talk to the sandbox. */
export interface SandboxEnvironment {
  kubeconfigPath: string;
  kc: KubeConfig;
  apiUrl: string;
  /** One URL, or on a NATS cluster every node's URL, comma-separated. */
  natsUrl: string;
  dir: string;
  controlPlane: ControlPlaneKind;
  /** The real control plane (identities, kubeconfigs per token); undefined on `memory`. */
  kube?: KubeControlPlane;
  /** A job signing key made for this sandbox (its PEM in <dir>/job-signing-key.pem). */
  jobSigner: JobSigner;
  jobSigningKeyPath: string;
  /** Set with natsAuth: how the controller logs in and where its worker pods find their passwords. */
  natsAuth?: SandboxNatsAuth;
}

export interface SandboxNatsAuth {
  controllerUser: string;
  controllerPassword: string;
  /** For the controller's VISIONQ_WORKER_NATS_USER_SECRET. */
  workerSecret: string;
  /** The component adding pool users (its `ready` list has the figures). */
  sync: NatsAuthSync;
}

export interface SandboxHandle extends SandboxEnvironment {
  /** The in-memory API server (fault switches); undefined on the real control plane. */
  api?: ApiServerHandle;
  /** The single nats-server; undefined when natsClusterSize > 1. */
  nats?: NatsServerProcess;
  /** The JetStream cluster when natsClusterSize > 1 (kill nodes to test failover). */
  natsCluster?: NatsCluster;
  kubelet: KubeletHandle;
  stop(): Promise<void>;
}

export const GPU_NODE_CPU = '16';
export const GPU_NODE_MEMORY = '64Gi';

/**
 * Starts the whole local sandbox: a control plane (the in-memory API server and scheduler,
 * or the real etcd/kube-apiserver/controller-manager/scheduler) with the visionq CRDs,
 * nats-server, the process kubelet with simulated GPU nodes, the simulated cluster
 * autoscaler and, when asked, the controller. Components are stopped in reverse order on
 * failure and by stop(), so no child process outlives the sandbox.
 */
export async function startSandbox(opts: SandboxOptions): Promise<SandboxHandle> {
  const dir = resolve(opts.dir);
  const logger = opts.logger;
  await mkdir(dir, { recursive: true });
  const stack: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    while (stack.length > 0) {
      const step = stack.pop()!;
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, 'sandbox: error while stopping a component');
      }
    }
  };

  try {
    const controlPlane = opts.controlPlane ?? 'memory';
    let api: ApiServerHandle | undefined;
    let kube: KubeControlPlane | undefined;
    let kubeconfigPath: string;
    let apiUrl: string;
    if (controlPlane === 'kube') {
      kube = await startKubeControlPlane({ dir: join(dir, 'kube'), logger: logger.child({ component: 'control-plane' }), binDir: opts.kubeBinDir, apiPort: opts.apiPort });
      stack.push(() => kube!.stop());
      kubeconfigPath = join(dir, 'kubeconfig');
      await copyFile(kube.kubeconfigPath, kubeconfigPath);
      apiUrl = kube.apiUrl;
    } else {
      api = await startApiServer({ port: opts.apiPort ?? 0, podLogDir: join(dir, 'logs'), logger: logger.child({ component: 'api-server' }) });
      const server = api;
      stack.push(() => server.close());
      kubeconfigPath = join(dir, 'kubeconfig');
      await writeKubeconfig(kubeconfigPath, api.url);
      apiUrl = api.url;
    }
    const kc = withPooledConnections(new KubeConfig());
    kc.loadFromFile(kubeconfigPath);

    await installCrds(kc, await readCrds(join(packageRoot, 'crds')));

    const clusterSize = opts.natsClusterSize ?? 1;
    const controllerCreds = { user: CONTROLLER_NATS_USER, password: randomPassword() };
    const authConfigPath = join(dir, 'nats-auth.conf');
    // Written before nats-server starts: it must never run open, not even for a moment.
    if (opts.natsAuth) await writeNatsAuthConfig(authConfigPath, natsAuthConfig(controllerCreds, []));
    let nats: NatsServerProcess | undefined;
    let natsCluster: NatsCluster | undefined;
    let natsUrl: string;
    if (clusterSize > 1) {
      if (opts.natsPort !== undefined) throw new RangeError('natsPort applies to a single nats-server, not to a NATS cluster');
      // One store per size: Raft peer sets of a differently-sized earlier run would not match.
      const cluster = await NatsCluster.create({
        baseDir: join(dir, `nats-cluster-${clusterSize}`),
        size: clusterSize,
        ...(opts.natsAuth ? { includeConfig: authConfigPath, probeAuth: controllerCreds } : {}),
      });
      natsCluster = cluster;
      stack.push(() => cluster.stopAll());
      await cluster.start();
      natsUrl = cluster.urls.join(',');
    } else {
      const storeDir = join(dir, 'nats');
      const configFile = join(dir, 'nats-server.conf');
      if (opts.natsAuth) await writeFile(configFile, jetstreamConfig(storeDir, relative(dir, authConfigPath)));
      const single = new NatsServerProcess({ port: opts.natsPort ?? (await freePort()), storeDir, ...(opts.natsAuth ? { configFile } : {}) });
      nats = single;
      await single.start();
      stack.push(() => single.stop());
      natsUrl = single.url;
    }

    let natsAuth: SandboxNatsAuth | undefined;
    if (opts.natsAuth) {
      const sync = new NatsAuthSync({
        kc,
        configPath: authConfigPath,
        controller: controllerCreds,
        secretName: WORKER_NATS_SECRET,
        reload: () => (natsCluster ? natsCluster.reload() : nats?.reload()),
        serverUrls: () => (natsCluster ? natsCluster.nodes.filter((n) => n.running).map((n) => n.url) : nats?.running ? [nats.url] : []),
        logger: logger.child({ component: 'nats-auth' }),
      });
      await sync.start();
      stack.push(() => sync.stop());
      natsAuth = { controllerUser: controllerCreds.user, controllerPassword: controllerCreds.password, workerSecret: WORKER_NATS_SECRET, sync };
    }

    // On the real control plane kube-scheduler binds pods; ours would race it.
    if (controlPlane === 'memory') {
      const scheduler = await startScheduler({ kc, logger });
      stack.push(() => scheduler.stop());
    }

    const nodeTemplate: Omit<SimNodeSpec, 'name'> = { cpu: GPU_NODE_CPU, memory: GPU_NODE_MEMORY, gpus: opts.gpusPerNode };
    const nodes: SimNodeSpec[] = Array.from({ length: opts.nodes }, (_, i) => ({ name: `gpu-node-${i + 1}`, ...nodeTemplate }));
    const endpoint = kube
      ? { cert: await readFile(kube.pki.kubeletServingCert, 'utf8'), key: await readFile(kube.pki.kubeletServingKey, 'utf8'), clientCa: await readFile(kube.pki.caCert, 'utf8') }
      : undefined;
    const kubelet = await startKubelet({ kc, nodes, podLogDir: join(dir, 'logs'), defaultWorkingDir: opts.workingDir ?? packageRoot, logger, endpoint });
    stack.push(() => kubelet.stop());
    if (kube) await waitForNodesReady(kc, nodes.map((n) => n.name));

    const autoscaler = await startAutoscaler({
      kc,
      kubelet,
      nodeTemplate,
      maxNodes: opts.maxNodes,
      provisionDelayMs: opts.nodeProvisionSeconds * 1000,
      scaleDownUnneededMs: (opts.nodeScaleDownSeconds ?? 60) * 1000,
      logger,
    });
    stack.push(() => autoscaler.stop());

    const { signer: jobSigner, privateKeyPem } = JobSigner.generate();
    const jobSigningKeyPath = join(dir, 'job-signing-key.pem');
    await writeFile(jobSigningKeyPath, privateKeyPem, { mode: 0o600 });
    const env: SandboxEnvironment = { kubeconfigPath, kc, apiUrl, natsUrl, dir, controlPlane, kube, jobSigner, jobSigningKeyPath, natsAuth };
    if (opts.startController) {
      const controller = await opts.startController(env);
      stack.push(() => controller.stop());
    }
    return { ...env, api, nats, natsCluster, kubelet, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
