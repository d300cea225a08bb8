import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { startSandboxApi } from '../helpers/sandbox-api.js';
import type { ApiServerHandle } from '../../src/sandbox/api-server/index.js';
import { RawClient } from './raw-client.js';
import { kubectlBinary } from '../helpers/control-plane.js';

const run = promisify(execFile);

/** When set, the conformance suite runs against this cluster instead of starting the sandbox. */
export const CONFORMANCE_KUBECONFIG_ENV = 'VISIONQ_CONFORMANCE_KUBECONFIG';

export interface ConformanceEnv {
  kc: KubeConfig;
  kubeconfigPath: string;
  /** The sandbox handle (faults); undefined against a real cluster. */
  sandbox?: ApiServerHandle;
  /** A scratch directory (pod log files for the sandbox live under dir/pod-logs). */
  dir: string;
  /** This test file's own namespace. */
  namespace: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  ext: ApiextensionsV1Api;
  raw: RawClient;
  /** A random lowercase suffix for cluster-scoped names. */
  suffix: string;
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean; timeoutMs?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
  cleanup(): Promise<void>;
}

export function isRealCluster(): boolean {
  return !!process.env[CONFORMANCE_KUBECONFIG_ENV];
}

/** Starts the sandbox (or connects to the configured cluster) and creates a namespace for the file. */
export interface SetupOptions {
  /** Sandbox-only suites (faults, log files) always start the sandbox. */
  sandboxOnly?: boolean;
  /** Sandbox watch history length (small values make 410 Expired easy to reach). */
  eventLogLimit?: number;
}

export async function setupConformance(label: string, setup: SetupOptions = {}): Promise<ConformanceEnv> {
  const suffix = randomBytes(3).toString('hex');
  const namespace = `conf-${label}-${suffix}`;
  let kc: KubeConfig;
  let kubeconfigPath: string;
  let sandbox: ApiServerHandle | undefined;
  let dir: string;
  let stop: () => Promise<void>;
  const external = setup.sandboxOnly ? undefined : process.env[CONFORMANCE_KUBECONFIG_ENV];
  if (external) {
    kubeconfigPath = external;
    kc = new KubeConfig();
    kc.loadFromFile(external);
    dir = await mkdtemp(join(tmpdir(), 'visionq-conformance-'));
    stop = () => rm(dir, { recursive: true, force: true });
  } else {
    const s = await startSandboxApi({ bookmarkIntervalMs: 300, ...(setup.eventLogLimit ? { eventLogLimit: setup.eventLogLimit } : {}) });
    kc = s.kc;
    kubeconfigPath = s.kubeconfigPath;
    sandbox = s.server;
    dir = s.dir;
    stop = s.cleanup;
  }
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const kubectl: ConformanceEnv['kubectl'] = async (args, opts = {}) => {
    let inputFile: string | undefined;
    if (opts.input !== undefined) {
      inputFile = join(dir, `input-${randomBytes(4).toString('hex')}.yaml`);
      await writeFile(inputFile, opts.input);
    }
    const full = ['--kubeconfig', kubeconfigPath, ...args.map((a) => (a === '-' && inputFile ? inputFile : a))];
    try {
      const { stdout, stderr } = await run(kubectlBinary(), full, { timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, KUBECONFIG: kubeconfigPath } });
      return { stdout, stderr, code: 0 };
    } catch (err: any) {
      if (!opts.allowFail) throw new Error(`kubectl ${args.join(' ')} failed (${err.code}): ${err.stderr ?? err.message}`, { cause: err });
      return { stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: typeof err.code === 'number' ? err.code : 1 };
    }
  };
  return {
    kc,
    kubeconfigPath,
    sandbox,
    dir,
    namespace,
    core,
    custom: kc.makeApiClient(CustomObjectsApi),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    raw: new RawClient(kc),
    suffix,
    kubectl,
    cleanup: async () => {
      if (external) {
        // Pods bound to made-up nodes would keep the namespace terminating until pod GC runs.
        const pods = await core.listNamespacedPod({ namespace }).catch(() => undefined);
        for (const p of pods?.items ?? []) {
          await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        }
        await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      }
      await stop();
    },
  };
}

/** The HTTP status of a client-node ApiException (or undefined). */
export function statusOf(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

/** The parsed Status body of a client-node ApiException. */
export function bodyOf(err: unknown): any {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  return body;
}

/** Runs fn expecting a client-node ApiException; returns it. */
export async function expectApiError(fn: () => Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await fn();
  } catch (err) {
    return { code: statusOf(err) ?? 0, body: bodyOf(err) };
  }
  throw new Error('expected the API call to fail');
}

/** Runs a read-modify-write until it does not meet a 409 (a real cluster's controllers write too). */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (statusOf(err) !== 409 || i >= attempts) throw err;
    }
  }
}
