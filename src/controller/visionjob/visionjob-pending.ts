/** Status of a job that waits for admission, with the condition saying why. */
import { toRfc3339 } from '../../api/conditions.js';
import { setCondition, type PendingReason, type VisionJobStatus } from './visionjob-status.js';

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
