/**
 * Bridge types between the controller and the runtime / API packages being built alongside it.
 * INTEGRATION POINT: once src/kube (Informer, EventRecorder) and src/api (VisionJob, WorkerPool)
 * land, these become re-exports of them; the shapes below are the subset the controller uses.
 */

/** Read side of an informer cache. */
export interface CacheReader<T> {
  /** By 'namespace/name'. */
  get(key: string): T | undefined;
  list(): T[];
  hasSynced(): boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface VisionJobObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: Record<string, unknown> & { pool?: string; priority?: number; suspend?: boolean };
  status?: Record<string, unknown>;
}

export interface WorkerPoolObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: Record<string, unknown> & { maxReplicas?: number; slotsPerWorker?: number };
  status?: Record<string, unknown>;
}

/** Kubernetes Events about an object. */
export interface JobRecorder {
  event(
    obj: { apiVersion?: string; kind?: string; metadata: ObjectMeta },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void;
}
