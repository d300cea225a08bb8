/**
 * The object shapes the controller works with. Specs come from the zod schemas in src/api;
 * metadata is client-node's V1ObjectMeta (informers hand out raw JSON, so its timestamps are
 * really strings at runtime: never call Date methods on them without parsing).
 */
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { VisionJobSpecInput } from '../../api/vision-job.js';
import type { WorkerPoolSpecInput, WorkerPoolStatus } from '../../api/worker-pool.js';
import type { VisionJobStatus } from '../visionjob/visionjob-status.js';

export interface VisionJobObject extends KubernetesObject {
  metadata: V1ObjectMeta;
  spec: VisionJobSpecInput;
  status?: VisionJobStatus;
}

export interface WorkerPoolObject extends KubernetesObject {
  metadata: V1ObjectMeta;
  spec: WorkerPoolSpecInput;
  status?: WorkerPoolStatus;
}

/** Kubernetes Events about an object (implemented over src/kube's EventRecorder). */
export interface JobRecorder {
  event(obj: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
