import { Counter, Gauge, type Registry } from 'prom-client';
import type { WorkerPodState } from '../workerpod/worker-pod-state.js';

/** WorkerPool-side metrics, on the controller's registry (reused across leader terms). */
export interface WorkerPoolMetrics {
  workerPods: Gauge<'namespace' | 'pool' | 'state'>;
  desiredReplicas: Gauge<'namespace' | 'pool'>;
  podsCreated: Counter<'namespace' | 'pool'>;
  podsDeleted: Counter<'namespace' | 'pool' | 'reason'>;
  drainRefusals: Counter<'namespace' | 'pool'>;
  tenantRunning: Gauge<'namespace' | 'pool' | 'tenant'>;
  tenantWaiting: Gauge<'namespace' | 'pool' | 'tenant'>;
}

export const WORKER_STATES = ['unscheduled', 'starting', 'busy', 'idle', 'terminating', 'dead'] as const;

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function workerPoolMetrics(registry: Registry): WorkerPoolMetrics {
  const registers = [registry];
  return {
    workerPods: reuse(registry, 'visionq_worker_pods', () =>
      new Gauge({ name: 'visionq_worker_pods', help: 'Worker pods by pool and state', labelNames: ['namespace', 'pool', 'state'], registers }),
    ),
    desiredReplicas: reuse(registry, 'visionq_workerpool_desired_replicas', () =>
      new Gauge({ name: 'visionq_workerpool_desired_replicas', help: 'Worker pods a pool wants for its queued and running jobs', labelNames: ['namespace', 'pool'], registers }),
    ),
    podsCreated: reuse(registry, 'visionq_worker_pods_created_total', () =>
      new Counter({ name: 'visionq_worker_pods_created_total', help: 'Worker pods created', labelNames: ['namespace', 'pool'], registers }),
    ),
    podsDeleted: reuse(registry, 'visionq_worker_pods_deleted_total', () =>
      new Counter({ name: 'visionq_worker_pods_deleted_total', help: 'Worker pods deleted by the controller, by reason (scale-down, outdated, dead)', labelNames: ['namespace', 'pool', 'reason'], registers }),
    ),
    drainRefusals: reuse(registry, 'visionq_worker_drain_refusals_total', () =>
      new Counter({ name: 'visionq_worker_drain_refusals_total', help: 'Drain requests an agent refused (it had just taken a job)', labelNames: ['namespace', 'pool'], registers }),
    ),
    tenantRunning: reuse(registry, 'visionq_tenant_running_jobs', () =>
      new Gauge({ name: 'visionq_tenant_running_jobs', help: 'Jobs of a tenant holding a slot of the pool (queued or running)', labelNames: ['namespace', 'pool', 'tenant'], registers }),
    ),
    tenantWaiting: reuse(registry, 'visionq_tenant_waiting_jobs', () =>
      new Gauge({ name: 'visionq_tenant_waiting_jobs', help: 'Jobs of a tenant waiting for admission to the pool', labelNames: ['namespace', 'pool', 'tenant'], registers }),
    ),
  };
}

/**
 * Sets the tenant gauges of one pool and removes the series of tenants that have no job left
 * (`previous`: the tenants of the last call); returns the tenants now exported.
 */
export function recordTenantLoad(
  m: WorkerPoolMetrics,
  namespace: string,
  pool: string,
  tenants: readonly { name: string; running: number; waiting: number }[],
  previous: ReadonlySet<string> = new Set(),
): Set<string> {
  const now = new Set<string>();
  for (const t of tenants) {
    m.tenantRunning.set({ namespace, pool, tenant: t.name }, t.running);
    m.tenantWaiting.set({ namespace, pool, tenant: t.name }, t.waiting);
    now.add(t.name);
  }
  for (const t of previous) {
    if (now.has(t)) continue;
    m.tenantRunning.remove({ namespace, pool, tenant: t });
    m.tenantWaiting.remove({ namespace, pool, tenant: t });
  }
  return now;
}

/** Sets the per-state gauge of one pool (every state, so a state that emptied drops to 0). */
export function recordWorkerStates(m: WorkerPoolMetrics, namespace: string, pool: string, workers: readonly WorkerPodState[]): void {
  const n = Object.fromEntries(WORKER_STATES.map((s) => [s, 0])) as Record<(typeof WORKER_STATES)[number], number>;
  for (const w of workers) {
    if (w.phase === 'ready') n[w.busy ? 'busy' : 'idle']++;
    else n[w.phase]++;
  }
  for (const s of WORKER_STATES) m.workerPods.set({ namespace, pool, state: s }, n[s]);
}

export function forgetPoolMetrics(m: WorkerPoolMetrics, namespace: string, pool: string, tenants: ReadonlySet<string> = new Set()): void {
  recordTenantLoad(m, namespace, pool, [], tenants);
  for (const s of WORKER_STATES) m.workerPods.remove({ namespace, pool, state: s });
  m.desiredReplicas.remove({ namespace, pool });
}
