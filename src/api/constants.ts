/** API coordinates of the visionq custom resources. */
export const API_GROUP = 'visionq.dev';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;
export const CATEGORY = 'visionq';

export const VISION_JOB_KIND = 'VisionJob';
export const VISION_JOB_LIST_KIND = 'VisionJobList';
export const VISION_JOB_PLURAL = 'visionjobs';
export const VISION_JOB_SINGULAR = 'visionjob';
export const VISION_JOB_SHORT_NAMES = ['vj'] as const;
export const VISION_JOB_QUALIFIED_KIND = `${VISION_JOB_KIND}.${API_GROUP}`;
export const VISION_JOB_CRD_NAME = `${VISION_JOB_PLURAL}.${API_GROUP}`;

export const WORKER_POOL_KIND = 'WorkerPool';
export const WORKER_POOL_LIST_KIND = 'WorkerPoolList';
export const WORKER_POOL_PLURAL = 'workerpools';
export const WORKER_POOL_SINGULAR = 'workerpool';
export const WORKER_POOL_SHORT_NAMES = ['wp'] as const;
export const WORKER_POOL_QUALIFIED_KIND = `${WORKER_POOL_KIND}.${API_GROUP}`;
export const WORKER_POOL_CRD_NAME = `${WORKER_POOL_PLURAL}.${API_GROUP}`;

/** Size bounds (bytes / items / characters). */
export const LIMITS = {
  inputBytes: 64 * 1024,
  inputProperties: 256,
  resultBytes: 16 * 1024,
  argsItems: 64,
  argLength: 4096,
  envItems: 64,
  envValueLength: 4096,
  envNameLength: 256,
  messageLength: 32768,
  progressMessageLength: 1024,
  permanentExitCodes: 64,
  fairSharingTenants: 256,
  // Pool status lists the most active tenants only (bounded object size).
  statusTenants: 50,
} as const;

/** Built-in job settings, used when neither the job nor its pool's jobDefaults set them. */
export const BUILTIN_JOB_DEFAULTS = {
  timeoutSeconds: 3600,
  retries: 3,
  backoff: { initialSeconds: 10, maxSeconds: 600, factor: 2 },
} as const;

export const JOB_PHASES = ['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
/** Phases in which a job has not started yet: priority and suspend may still change. */
export const WAITING_PHASES = ['Pending', 'Queued'] as const;
export const FINISHED_PHASES = ['Succeeded', 'Failed', 'Cancelled'] as const;

/** Condition types (Kubernetes API conventions). */
export const JobConditionTypes = {
  Admitted: 'Admitted',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
} as const;
export const PoolConditionTypes = {
  Ready: 'Ready',
  CapacityPending: 'CapacityPending',
} as const;

/** DNS-1123 label: used as a NATS subject token, so no dots. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS1123_LABEL_MAX = 63;
/** C identifier, as for environment variable names handed to the algorithm. */
export const C_IDENTIFIER_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
