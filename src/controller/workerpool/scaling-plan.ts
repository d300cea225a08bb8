import type { EffectivePoolSpec } from './workerpool-view.js';
import type { WorkerPodState } from '../workerpod/worker-pod-state.js';

export interface PoolLoadCounts {
  /** Published to the stream, not started yet. */
  queued: number;
  /** Started by an agent, not finished. */
  running: number;
}

export interface ScalingInput {
  spec: EffectivePoolSpec;
  load: PoolLoadCounts;
  workers: readonly WorkerPodState[];
  /** When each worker was last seen turning idle (see WorkerIdleTracker). */
  idleSinceMs: ReadonlyMap<string, number>;
  nowMs: number;
  /** The pool is being deleted: create nothing (its pods go by garbage collection). */
  poolDeleting?: boolean;
}

export interface ScaleDownStep {
  /** How many workers to remove. */
  count: number;
  /** Idle-long-enough workers, best first; the drain may refuse some, then the next one is tried. */
  candidates: string[];
}

export interface ScalingPlan {
  desired: number;
  /** New worker pods to create now. */
  create: number;
  /** Finished/failed workers: delete at once (no agent left to drain). */
  deleteDead: string[];
  /** Idle workers built from an older template: drain and delete (they are replaced afterwards). */
  replaceOutdated: string[];
  scaleDown?: ScaleDownStep;
  /** Reconcile again after this long (an idle worker's delay runs out). */
  requeueAfterMs?: number;
  /** Workers the scheduler cannot place, with its first reason, for the CapacityPending condition. */
  unschedulable: { count: number; reason?: string; message?: string };
}

const LIVE = new Set(['unscheduled', 'starting', 'ready']);

/** ceil((queued + running) / slotsPerWorker) clamped to [minReplicas, maxReplicas]. */
export function desiredReplicas(spec: EffectivePoolSpec, load: PoolLoadCounts): number {
  const needed = Math.ceil((Math.max(0, load.queued) + Math.max(0, load.running)) / spec.slotsPerWorker);
  return Math.min(spec.maxReplicas, Math.max(spec.minReplicas, needed));
}

/**
 * Decides what the pool's workers should become. Pure: the reconciler carries it out.
 *
 * Invariants it keeps:
 * - never more pods exist than maxReplicas (terminating and dead pods still count until gone),
 *   so a running pool never overshoots, not even while rolling a template change;
 * - pending pods (unscheduled or starting) count as capacity on its way: nothing extra is created
 *   while GPU nodes are being provisioned for them;
 * - only idle workers are ever removed (busy outdated ones wait for their job to end), and for
 *   scale-down only after scaleDownDelaySeconds of idleness.
 */
export function planScaling(input: ScalingInput): ScalingPlan {
  const { spec, workers, nowMs } = input;
  const desired = input.poolDeleting ? 0 : desiredReplicas(spec, input.load);
  const live = workers.filter((w) => LIVE.has(w.phase));
  const deleteDead = workers.filter((w) => w.phase === 'dead').map((w) => w.name);
  const replaceOutdated = input.poolDeleting ? [] : live.filter((w) => w.outdated && !w.busy).map((w) => w.name);
  const remaining = live.filter((w) => !replaceOutdated.includes(w.name));

  let scaleDown: ScaleDownStep | undefined;
  let requeueAfterMs: number | undefined;
  const excess = remaining.length - desired;
  if (excess > 0 && !input.poolDeleting) {
    const delayMs = spec.scaleDownDelaySeconds * 1000;
    const eligible: Array<{ w: WorkerPodState; since: number }> = [];
    for (const w of remaining) {
      if (w.busy) continue;
      const since = input.idleSinceMs.get(w.name) ?? w.createdMs;
      const due = since + delayMs;
      if (due <= nowMs) eligible.push({ w, since });
      else requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, due - nowMs);
    }
    eligible.sort((a, b) => removalRank(a.w) - removalRank(b.w) || a.since - b.since || a.w.name.localeCompare(b.w.name));
    if (eligible.length > 0) scaleDown = { count: Math.min(excess, eligible.length), candidates: eligible.map((e) => e.w.name) };
  }

  const headroom = spec.maxReplicas - workers.length;
  const create = input.poolDeleting ? 0 : Math.max(0, Math.min(desired - remaining.length, headroom));

  const unsched = live.filter((w) => w.phase === 'unscheduled' && w.unschedulableMessage !== undefined);
  return {
    desired,
    create,
    deleteDead,
    replaceOutdated,
    ...(scaleDown ? { scaleDown } : {}),
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
    unschedulable: {
      count: unsched.length,
      ...(unsched[0] ? { reason: unsched[0].unschedulableReason, message: unsched[0].unschedulableMessage } : {}),
    },
  };
}

/** Cheapest to remove first: a pod without a node frees no GPU but stops a node being provisioned for it. */
function removalRank(w: WorkerPodState): number {
  return w.phase === 'unscheduled' ? 0 : w.phase === 'starting' ? 1 : 2;
}
