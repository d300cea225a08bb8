import type { V1PodTemplateSpec } from '@kubernetes/client-node';

/**
 * The parts of a WorkerPool (and of VisionJob status) the WorkerPool side reads. Structural on
 * purpose: the zod-derived types from src/api fit them, and unit tests can build them by hand.
 */
export interface WorkerPoolSpecView {
  template: V1PodTemplateSpec;
  slotsPerWorker?: number;
  minReplicas?: number;
  maxReplicas: number;
  scaleDownDelaySeconds?: number;
  ackWaitSeconds?: number;
  permanentExitCodes?: number[];
}

export interface WorkerPoolView {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    deletionTimestamp?: Date | string;
  };
  spec: WorkerPoolSpecView;
}

export interface VisionJobView {
  metadata: { name?: string; namespace?: string; uid?: string };
  spec: { pool: string };
  status?: {
    phase?: string;
    currentAttempt?: { pod?: string; node?: string } | null;
  } | null;
}

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

export function effectivePoolSpec(spec: WorkerPoolSpecView): EffectivePoolSpec {
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
