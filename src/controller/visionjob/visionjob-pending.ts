/** Status of a job that waits for admission, with the condition saying why. */
import { setCondition, toRfc3339 } from '../../api/conditions.js';
import type { VisionJobRuntime } from './visionjob-runtime.js';
import { type PendingReason, type VisionJobStatus } from './visionjob-status.js';

export function pendingStatus(
  prev: VisionJobStatus | undefined,
  reason: PendingReason,
  message: string,
  now: Date,
  generation?: number,
): VisionJobStatus {
  return {
    ...(prev ?? {}),
    phase: 'Pending',
    message,
    observedGeneration: generation ?? prev?.observedGeneration,
    conditions: setCondition(
      prev?.conditions,
      { type: 'Pending', status: 'True', reason, message, observedGeneration: generation, lastTransitionTime: toRfc3339(now) },
      now,
    ),
  };
}

/** The fair-share tenant to record in status.tenant (undefined: the shared tenant, no field). */
export interface TenantField {
  tenant: string | undefined;
}

/**
 * Writes pendingStatus to a job that still waits (not once it is queued or being deleted);
 * with `tenant`, status.tenant too (the admission pass knows the pool's tenant label).
 */
export async function setPending(rt: VisionJobRuntime, key: string, uid: string, reason: PendingReason, message: string, tenant?: TenantField): Promise<void> {
  const now = rt.now();
  await rt.store.updateStatus(
    key,
    (j) => {
      const st = j.status ?? {};
      if (st.phase !== undefined && st.phase !== 'Pending') return undefined;
      if (j.metadata.deletionTimestamp) return undefined;
      const next = pendingStatus(st, reason, message, now, j.metadata.generation);
      return tenant ? { ...next, tenant: tenant.tenant } : next;
    },
    { uid },
  );
}
