import { setCondition } from '../../api/conditions.js';
import type { Condition } from '../../api/common-schemas.js';
import type { ScalingPlan, PoolLoadCounts } from './scaling-plan.js';
import type { WorkerPodState } from '../workerpod/worker-pod-state.js';
import { stableJson } from '../workerpod/worker-pod-builder.js';
import type { TenantStatus } from '../../api/worker-pool.js';

/** metav1.Condition as src/api defines it. */
export type PoolCondition = Condition;

export interface WorkerPoolStatusView {
  replicas: number;
  ready: number;
  busy: number;
  idle: number;
  pending: number;
  queued: number;
  running: number;
  tenants?: TenantStatus[];
  observedGeneration?: number;
  conditions: PoolCondition[];
}

export interface PoolStatusInput {
  generation?: number;
  workers: readonly WorkerPodState[];
  load: PoolLoadCounts;
  plan: ScalingPlan;
  previous?: { conditions?: PoolCondition[] | null } | null;
  now: Date;
  /** Set when the pool cannot get workers at all (unusable template, pods rejected by the API server). */
  blocked?: { reason: string; message: string };
  /** Tenants of the pool, most active first (already bounded). */
  tenants?: TenantStatus[];
}

/** The pool's status as the controller sees it; conditions keep their transition time while unchanged. */
export function computePoolStatus(input: PoolStatusInput): WorkerPoolStatusView {
  const live = input.workers.filter((w) => w.phase === 'unscheduled' || w.phase === 'starting' || w.phase === 'ready');
  const ready = live.filter((w) => w.phase === 'ready');
  const busy = live.filter((w) => w.busy);
  const pending = live.filter((w) => w.phase !== 'ready');
  const desired = input.plan.desired;

  const conds: Array<Omit<PoolCondition, 'lastTransitionTime'>> = [];
  if (input.blocked) {
    conds.push({ type: 'Ready', status: 'False', reason: input.blocked.reason, message: input.blocked.message });
  } else if (ready.length >= desired) {
    conds.push({
      type: 'Ready',
      status: 'True',
      reason: desired === 0 ? 'NoWorkersNeeded' : 'WorkersReady',
      message: `${ready.length}/${desired} workers ready`,
    });
  } else {
    conds.push({
      type: 'Ready',
      status: 'False',
      reason: input.plan.unschedulable.count > 0 ? 'WaitingForCapacity' : 'ScalingUp',
      message: `${ready.length}/${desired} workers ready`,
    });
  }
  const u = input.plan.unschedulable;
  conds.push(
    u.count > 0
      ? {
          type: 'CapacityPending',
          status: 'True',
          reason: sanitizeReason(u.reason ?? 'Unschedulable'),
          message: `${u.count} worker pod(s) unschedulable: ${u.message || 'no node fits'}`,
        }
      : { type: 'CapacityPending', status: 'False', reason: 'AllScheduled', message: 'every worker pod has a node' },
  );

  return {
    replicas: live.length,
    ready: ready.length,
    busy: busy.length,
    idle: ready.filter((w) => !w.busy).length,
    pending: pending.length,
    queued: input.load.queued,
    running: input.load.running,
    ...(input.tenants !== undefined ? { tenants: input.tenants } : {}),
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
    conditions: conds.map((c) => withTransitionTime(c, input.previous?.conditions ?? [], input.now, input.generation)),
  };
}

function withTransitionTime(
  c: Omit<PoolCondition, 'lastTransitionTime'>,
  previous: PoolCondition[],
  now: Date,
  generation: number | undefined,
): PoolCondition {
  // Pool conditions keep millisecond transition times (as they always had).
  const [cond] = setCondition(
    previous.filter((p) => p.type === c.type),
    { ...c, observedGeneration: generation, lastTransitionTime: now.toISOString() },
    now,
  );
  return cond!;
}

/** Condition reasons are CamelCase identifiers; scheduler reasons normally are, but do not trust them. */
function sanitizeReason(r: string): string {
  const cleaned = r.replace(/[^A-Za-z0-9_]/g, '');
  return /^[A-Za-z]/.test(cleaned) ? cleaned : 'Unschedulable';
}

/** True when writing `next` would change what is stored (ignores key order). */
export function statusChanged(prev: unknown, next: WorkerPoolStatusView): boolean {
  if (!prev || typeof prev !== 'object') return true;
  const p = prev as Record<string, unknown>;
  for (const [k, v] of Object.entries(next)) {
    if (stableJson(p[k]) !== stableJson(v)) return true;
  }
  return false;
}
