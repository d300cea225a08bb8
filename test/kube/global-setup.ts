import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startKubeControlPlane, type KubeControlPlane } from '../../src/sandbox/control-plane/index.js';
import { CONFORMANCE_KUBECONFIG_ENV } from '../conformance/conformance-env.js';

/**
 * One real control plane for the conformance files of the kube-conformance project: they
 * only need an API server and isolate themselves by namespace, and a start costs seconds.
 * Workers inherit the environment set here.
 */
let cp: KubeControlPlane | undefined;
let dir: string | undefined;

export async function setup(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'visionq-kube-conformance-'));
  cp = await startKubeControlPlane({ dir, logger: pino({ level: 'warn' }) });
  process.env[CONFORMANCE_KUBECONFIG_ENV] = cp.kubeconfigPath;
  process.env.VISIONQ_KUBECTL = cp.binaries.kubectl;
}

export async function teardown(): Promise<void> {
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
