import { defineConfig } from 'vitest/config';
import { kubeBinDir } from './src/sandbox/control-plane/kube-binaries.js';

/**
 * The sandbox e2e files that also run on the real control plane. The ones left out use the
 * in-memory server's fault switches or its scheduler (see docs/architecture.md, two tiers).
 */
const KUBE_TIER_E2E = [
  'test/e2e/controller-lifecycle.test.ts',
  'test/e2e/controller-admission.test.ts',
  'test/e2e/controller-delayed.test.ts',
  'test/e2e/workerpool-scaling.test.ts',
  'test/e2e/workerpool-pod-death.test.ts',
  'test/e2e/workerpool-capacity.test.ts',
  'test/e2e/controller-ha.test.ts',
  'test/e2e/workerpool-randomized.test.ts',
  'test/e2e/controller-queue-repair.test.ts',
  'test/e2e/controller-suspend.test.ts',
  'test/e2e/controller-stale-success.test.ts',
  'test/e2e/controller-ack-wait.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // Integration tests start real nats-server and sandbox processes; the
          // machines are 2-core, so run files with limited parallelism.
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        // The conformance suite against ONE real control plane (namespaces isolate files).
        test: {
          name: 'kube-conformance',
          sequence: { groupOrder: 2 },
          include: ['test/integration/sandbox-api/conformance-*.test.ts'],
          globalSetup: ['test/kube/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
        },
      },
      {
        // Suites that start a whole sandbox per file, each on its own real control plane, and
        // the tests only the real tier can run (chart RBAC, Pod Security, CEL cost limits).
        test: {
          name: 'kube-e2e',
          sequence: { groupOrder: 3 },
          include: [...KUBE_TIER_E2E, 'test/kube/**/*.test.ts'],
          env: { VISIONQ_TEST_CONTROL_PLANE: 'kube', VISIONQ_KUBECTL: `${kubeBinDir()}/kubectl` },
          testTimeout: 240_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
    ],
  },
});
