import type { V1Pod } from '@kubernetes/client-node';
import { TEMPLATE_HASH_LABEL } from './worker-pod-labels.js';

/**
 * Where a worker pod is in its life, as far as scaling cares:
 * - unscheduled: no node yet (waiting for the scheduler or for the cluster autoscaler to add one)
 * - starting:    on a node, agent not ready yet
 * - ready:       running and ready: takes jobs
 * - terminating: deletion requested; still occupies a slot of the pool until it is gone
 * - dead:        finished or failed (restartPolicy Never): to be deleted and replaced
 */
export type WorkerPhase = 'unscheduled' | 'starting' | 'ready' | 'terminating' | 'dead';

export interface WorkerPodState {
  name: string;
  phase: WorkerPhase;
  /** Runs at least one job (some VisionJob in phase Running names it in status.currentAttempt.pod). */
  busy: boolean;
  /** Built from an older template (hash label differs from the pool's current one). */
  outdated: boolean;
  createdMs: number;
  node?: string;
  /** The scheduler's PodScheduled=False message, when there is one. */
  unschedulableMessage?: string;
  unschedulableReason?: string;
}

/** Extra time past a terminating pod's grace period before it stops counting (a lost node keeps it forever). */
export const TERMINATING_SLACK_MS = 30_000;

export function timeMs(t: Date | string | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * When a terminating pod should have been gone for a while: past that its kubelet is not
 * finishing it (node lost) and the controller treats it as dead. Undefined when not terminating.
 */
export function terminatingStaleAtMs(pod: V1Pod): number | undefined {
  const deletedAt = timeMs(pod.metadata?.deletionTimestamp);
  if (deletedAt === undefined) return undefined;
  const graceMs = (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  return deletedAt + graceMs + TERMINATING_SLACK_MS;
}

/** Classifies one worker pod; returns undefined for a terminating pod long past its grace period (treated as gone). */
export function classifyWorkerPod(
  pod: V1Pod,
  opts: { busyPods: ReadonlySet<string>; templateHash: string; nowMs: number },
): WorkerPodState | undefined {
  const name = pod.metadata?.name ?? '';
  const createdMs = timeMs(pod.metadata?.creationTimestamp) ?? opts.nowMs;
  const base = {
    name,
    busy: opts.busyPods.has(name),
    outdated: (pod.metadata?.labels?.[TEMPLATE_HASH_LABEL] ?? '') !== opts.templateHash,
    createdMs,
    node: pod.spec?.nodeName || undefined,
  };
  const staleAt = terminatingStaleAtMs(pod);
  if (staleAt !== undefined) {
    if (opts.nowMs > staleAt) return undefined;
    return { ...base, phase: 'terminating' };
  }
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') return { ...base, phase: 'dead' };
  if (!pod.spec?.nodeName) {
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    return {
      ...base,
      phase: 'unscheduled',
      ...(sched?.status === 'False'
        ? { unschedulableMessage: sched.message ?? '', unschedulableReason: sched.reason ?? 'Unschedulable' }
        : {}),
    };
  }
  if (phase !== 'Running') return { ...base, phase: 'starting' };
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  // A kubelet that reports no Ready condition (no probes) leaves Running as the only signal.
  if (ready && ready.status !== 'True') return { ...base, phase: 'starting' };
  return { ...base, phase: 'ready' };
}

/** Pods named by Running jobs of the pool, with how many jobs each runs. */
export function busyPodsOf(
  jobs: Iterable<{ spec?: { pool?: string }; metadata?: { namespace?: string }; status?: { phase?: string; currentAttempt?: { pod?: string } | null } | null }>,
  namespace: string,
  pool: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const j of jobs) {
    if (j.metadata?.namespace !== namespace || j.spec?.pool !== pool) continue;
    if (j.status?.phase !== 'Running') continue;
    const pod = j.status?.currentAttempt?.pod;
    if (pod) out.set(pod, (out.get(pod) ?? 0) + 1);
  }
  return out;
}
