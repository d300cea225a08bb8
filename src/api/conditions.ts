/**
 * The one condition helper of visionq (metav1.Condition, Kubernetes API conventions): VisionJob
 * and WorkerPool status both go through it.
 */
import type { Condition } from './common-schemas.js';

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  /** Default ''. */
  message?: string;
  observedGeneration?: number;
  /** Transition time to record if the status flips (default: `now` at seconds precision). */
  lastTransitionTime?: string;
}

/**
 * Returns conditions with `update.type` set: lastTransitionTime only moves when the status flips;
 * returns the same array (by reference) when nothing changed at all, so callers can skip writes.
 * Never mutates `conditions`.
 */
export function setCondition(conditions: readonly Condition[] | undefined, update: ConditionUpdate, now: Date): Condition[] {
  const list = (conditions ?? []) as Condition[];
  const message = update.message ?? '';
  const i = list.findIndex((c) => c.type === update.type);
  const prev = i >= 0 ? list[i] : undefined;
  if (
    prev &&
    prev.status === update.status &&
    prev.reason === update.reason &&
    prev.message === message &&
    (update.observedGeneration === undefined || prev.observedGeneration === update.observedGeneration)
  ) {
    return list;
  }
  const cond: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message,
    lastTransitionTime: prev && prev.status === update.status ? prev.lastTransitionTime : (update.lastTransitionTime ?? toRfc3339(now)),
    ...(update.observedGeneration !== undefined ? { observedGeneration: update.observedGeneration } : {}),
  };
  const out = list.slice();
  if (i >= 0) out[i] = cond;
  else out.push(cond);
  return out;
}

/** Sets a condition to False only if it exists and is not False already (e.g. Pending once admitted). */
export function clearCondition(
  conditions: Condition[] | undefined,
  type: string,
  reason: string,
  message: string,
  now: Date,
): Condition[] | undefined {
  const prev = conditions?.find((c) => c.type === type);
  if (!prev || prev.status === 'False') return conditions;
  return setCondition(conditions, { type, status: 'False', reason, message }, now);
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** metav1.Time precision: seconds, UTC, `Z`. */
export function toRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
