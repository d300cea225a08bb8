/** Labels and annotations that mark a visionq worker pod. The controller contract fixes the first three. */
export const POOL_LABEL = 'visionq.dev/pool';
export const WORKER_LABEL = 'visionq.dev/worker';
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
/** Hash of everything the controller bakes into a worker pod; a differing value marks an outdated worker. */
export const TEMPLATE_HASH_LABEL = 'visionq.dev/template-hash';

export const WORKERPOOL_API_VERSION = 'visionq.dev/v1alpha1';
export const WORKERPOOL_KIND = 'WorkerPool';
