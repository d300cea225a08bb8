import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';

/** The WorkerPool side reads the same objects as the rest of the controller (no hand-written views). */
export type WorkerPoolView = WorkerPoolObject;
export type WorkerPoolSpecView = WorkerPoolObject['spec'];
export type VisionJobView = VisionJobObject;

/** Spec values with the API defaults applied (the CRD defaults them too; the controller must not rely on it). */
export interface EffectivePoolSpec {
  slotsPerWorker: number;
  minReplicas: number;
  maxReplicas: number;
  scaleDownDelaySeconds: number;
  ackWaitSeconds: number;
  permanentExitCodes: number[];
}

export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 60;
export const DEFAULT_ACK_WAIT_SECONDS = 60;

/** The scaling fields of a pool spec (all effectivePoolSpec reads). */
export type PoolScalingSpec = Pick<WorkerPoolSpecView, 'slotsPerWorker' | 'minReplicas' | 'maxReplicas' | 'scaleDownDelaySeconds' | 'ackWaitSeconds' | 'permanentExitCodes'>;

export function effectivePoolSpec(spec: PoolScalingSpec): EffectivePoolSpec {
  const maxReplicas = Math.max(0, Math.floor(spec.maxReplicas ?? 0));
  const minReplicas = Math.min(maxReplicas, Math.max(0, Math.floor(spec.minReplicas ?? 0)));
  return {
    slotsPerWorker: Math.max(1, Math.floor(spec.slotsPerWorker ?? 1)),
    minReplicas,
    maxReplicas,
    scaleDownDelaySeconds: Math.max(0, spec.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS),
    ackWaitSeconds: Math.max(1, spec.ackWaitSeconds ?? DEFAULT_ACK_WAIT_SECONDS),
    permanentExitCodes: [...(spec.permanentExitCodes ?? [])],
  };
}
