import type { ControlPlaneKind } from '../../src/sandbox/sandbox.js';

/**
 * Which control plane the sandbox-based suites run on: the in-memory one by default, the
 * real one (etcd, kube-apiserver, controller-manager, scheduler) when the kube projects of
 * vitest.config.ts set VISIONQ_TEST_CONTROL_PLANE=kube.
 */
export function testControlPlane(): ControlPlaneKind {
  return process.env.VISIONQ_TEST_CONTROL_PLANE === 'kube' ? 'kube' : 'memory';
}

export function onRealControlPlane(): boolean {
  return testControlPlane() === 'kube';
}

/** The kubectl to run: the one built with the real control plane when the suite uses it. */
export function kubectlBinary(): string {
  return process.env.VISIONQ_KUBECTL || 'kubectl';
}
