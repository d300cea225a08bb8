import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startSandbox, type ControlPlaneKind, type SandboxEnvironment } from './sandbox.js';
import { runDemo } from './demo.js';

const USAGE = `usage: visionq sandbox [--dir DIR] [--nodes N] [--gpus-per-node G] [--max-nodes M]
                       [--node-provision-seconds S] [--api-port P] [--nats-port P]
                       [--nats-cluster N] [--nats-auth]
                       [--no-controller] [--demo] [--log-level LEVEL]
                       [--control-plane memory|kube]

Runs a Kubernetes-compatible API server, nats-server, a process kubelet with simulated
GPU nodes, a simulated cluster autoscaler and the visionq controller on this machine.
Use it with: kubectl --kubeconfig DIR/kubeconfig ...

--control-plane memory (default) runs visionq's in-memory API server and scheduler;
--control-plane kube runs the real etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built by \`npm run kube:build\` (use the kubectl built with them:
~/.cache/visionq/kube/v1.36.3/kubectl).

--nats-cluster N (1, or 3 and more) runs N nats-server nodes as one JetStream cluster on
free loopback ports instead of a single server; kill -9 one of the printed pids to watch
jobs continue. --nats-port applies to the single server only.

--nats-auth makes nats-server require static users with least privilege (also with
--nats-cluster): the controller's, and one per WorkerPool that may pull only its pool's
jobs and publish only its namespace's events. Each new pool's password is generated, the
servers reloaded, and then stored in Secret visionq-worker-nats (key <pool>) of the
pool's namespace, from which its worker pods get it.
`;

/** Parses a non-negative integer flag, failing with the flag's name. */
function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

export async function sandboxCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string', default: '.visionq/sandbox' },
        nodes: { type: 'string' },
        'gpus-per-node': { type: 'string' },
        'max-nodes': { type: 'string' },
        'node-provision-seconds': { type: 'string' },
        'api-port': { type: 'string' },
        'nats-port': { type: 'string' },
        'nats-cluster': { type: 'string' },
        'nats-auth': { type: 'boolean', default: false },
        'no-controller': { type: 'boolean', default: false },
        demo: { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'warn' },
        'control-plane': { type: 'string', default: 'memory' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`visionq sandbox: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let nodes: number, gpusPerNode: number, maxNodes: number, provisionSeconds: number, apiPort: number, natsPort: number, natsCluster: number;
  try {
    nodes = intFlag('nodes', v.nodes, 2);
    gpusPerNode = intFlag('gpus-per-node', v['gpus-per-node'], 1);
    maxNodes = intFlag('max-nodes', v['max-nodes'], Math.max(nodes, 4));
    provisionSeconds = intFlag('node-provision-seconds', v['node-provision-seconds'], 5);
    apiPort = intFlag('api-port', v['api-port'], 0);
    natsPort = intFlag('nats-port', v['nats-port'], 0);
    natsCluster = intFlag('nats-cluster', v['nats-cluster'], 1);
    if (natsCluster === 0 || natsCluster === 2) {
      throw new Error(`--nats-cluster must be 1 or at least 3, got ${natsCluster}: JetStream needs a majority of nodes up, so 2 nodes survive no failure`);
    }
    if (natsCluster > 1 && v['nats-port'] !== undefined) {
      throw new Error('--nats-port sets the port of a single nats-server; it cannot be used with --nats-cluster above 1 (the nodes take free ports)');
    }
    if (v['control-plane'] !== 'memory' && v['control-plane'] !== 'kube') {
      throw new Error(`--control-plane must be memory or kube, got "${v['control-plane']}"`);
    }
    if (maxNodes < nodes) throw new Error(`--max-nodes (${maxNodes}) must be at least --nodes (${nodes})`);
  } catch (err) {
    process.stderr.write(`visionq sandbox: ${(err as Error).message}\n`);
    return 2;
  }

  const logger = pino({ level: v['log-level'] }, pino.destination(2));
  const startController = v['no-controller']
    ? undefined
    : async (env: SandboxEnvironment) => {
        const { startSandboxController } = await import('./sandbox-controller.js');
        return startSandboxController(env, logger);
      };

  let sandbox;
  try {
    sandbox = await startSandbox({
      dir: v.dir!,
      nodes,
      gpusPerNode,
      maxNodes,
      nodeProvisionSeconds: provisionSeconds,
      apiPort: apiPort || undefined,
      natsPort: natsPort || undefined,
      natsClusterSize: natsCluster,
      natsAuth: v['nats-auth'],
      logger,
      startController,
      controlPlane: v['control-plane'] as ControlPlaneKind,
    });
  } catch (err) {
    process.stderr.write(`visionq sandbox: ${(err as Error).message}\n`);
    if ((err as Error).cause) process.stderr.write(`  cause: ${String((err as Error).cause)}\n`);
    return 1;
  }
  process.stdout.write(`sandbox ready: kubeconfig=${sandbox.kubeconfigPath}\n`);
  if (sandbox.natsAuth) {
    process.stdout.write(
      `nats auth: on (user ${sandbox.natsAuth.controllerUser} for the controller, one user per WorkerPool; passwords in Secret ${sandbox.natsAuth.workerSecret}, config ${sandbox.dir}/nats-auth.conf)\n`,
    );
  }
  for (const node of sandbox.natsCluster?.nodes ?? []) {
    process.stdout.write(`nats node ${node.name}: ${node.url} pid ${node.pid}\n`);
  }

  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  let code = 0;
  if (v.demo) {
    code = await Promise.race([runDemo(sandbox, process.stdout), stopped.then(() => 130)]);
  } else {
    // /usr/bin/kubectl may be older than the real v1.36 server allows; use the one built with it.
    const kubectl = sandbox.kube?.binaries.kubectl ?? 'kubectl';
    process.stdout.write(`try: ${kubectl} --kubeconfig ${sandbox.kubeconfigPath} apply -f examples/sandbox/workerpool.yaml -f examples/sandbox/jobs/\n`);
    await stopped;
  }
  process.stdout.write('sandbox: shutting down\n');
  await sandbox.stop();
  return code;
}
